// The swarm: each seed draws its own world (cluster size 3-7, N/R/W, latencies, storage
// speed, workload) from its own PRNG stream, and its fault schedule through fast-check with
// the same seed, so `--seed N` replays it exactly and a failure can shrink (see shrink.ts).
// The draws are tuned so that each planted bug shows up within a few dozen seeds while a
// correct node never loses an acknowledged write: at most W-1 data wipes per run, and
// machine crashes only lose writes not yet synced. Storage faults (write errors, disk-full
// episodes, corrupted objects) come from a stream of their own ("storage-faults"), so adding
// them left every other draw of a seed as it was; a corrupted object counts as a wipe. Channel
// faults (a dead data channel under a live control channel, the reverse, a busy data channel)
// come from their own stream ("channel-faults") too.
import type fc from "fast-check";
import type { BugName } from "../src/core/types.ts";
import type { VersioningMode } from "../src/core/versioning/types.ts";
import { drawSchedule, scheduleArbitrary, type Episode, type EpisodeKind, type FaultSchedule, type ScheduleShape, type StorageFaultPlan } from "./faults.ts";
import { CONFIG_DEFAULTS } from "../src/config/config.ts";
import { Rng, fnv32 } from "./rng.ts";
import type { RunSpec } from "./run.ts";
import type { WorkloadSpec } from "./workload.ts";
import type { ClockSpread } from "./clock.ts";
import type { MembershipEpisode, MembershipKind } from "./membership.ts";

interface SwarmOptions {
  readonly bugs?: readonly BugName[];
  readonly mode?: VersioningMode;
}

export interface SwarmWorld {
  readonly seed: number;
  readonly spec: RunSpec;
  readonly shape: ScheduleShape;
  readonly arbitrary: fc.Arbitrary<FaultSchedule>;
}

export function drawWorld(seed: number, options: SwarmOptions = {}): SwarmWorld {
  const rng = new Rng(seed, fnv32("swarm"));
  const size = rng.int(3, 7);
  const n = Math.min(size, rng.weighted<number>([[3, 6], [2, 1], [4, 1], [5, 1]]));
  const quorumOf = (x: number): number => Math.floor(x / 2) + 1;
  const r = rng.chance(0.5) ? quorumOf(n) : rng.int(1, n);
  const w = rng.chance(0.5) ? quorumOf(n) : rng.int(1, n);
  // Most seeds: a few keys (conflicts); some: many keys and clients, or one hot key.
  const shapeOfLoad = rng.weighted<"few" | "many" | "hot">([["few", 6], ["many", 2], ["hot", 2]]);
  const keyCount = shapeOfLoad === "many" ? rng.int(8, 40) : shapeOfLoad === "hot" ? 1 : rng.int(1, 5);
  const clients = shapeOfLoad === "few" ? rng.int(2, 5) : rng.int(4, 8);
  // Timings per seed: the swarm's fast ones, or the production defaults (suspect 800 ms < request timeout 2000 ms).
  const d = CONFIG_DEFAULTS;
  const timings = rng.chance(0.15)
    ? { requestTimeoutMs: d.requestTimeoutMs, heartbeatIntervalMs: d.heartbeatIntervalMs, suspectAfterMs: d.suspectAfterMs, handoffIntervalMs: d.handoffIntervalMs, antiEntropyIntervalMs: d.antiEntropyIntervalMs, reapDelayMs: d.reapDelayMs }
    : { requestTimeoutMs: 1000, heartbeatIntervalMs: 1000, suspectAfterMs: 2500, handoffIntervalMs: 500, antiEntropyIntervalMs: 2000, reapDelayMs: 2000 };
  const faultPhaseMs = 8000;
  const readRepairWorld = drawReadRepairWorld(seed);
  const spec: RunSpec = {
    cluster: {
      seed,
      size,
      n,
      r,
      w,
      mode: options.mode ?? "dvv",
      partitionCount: 16,
      bugs: options.bugs ?? [],
      timings: readRepairWorld ? { ...timings, antiEntropyIntervalMs: 0 } : timings,
      latency: drawLatency(rng),
      storage: drawStorageTimes(rng),
      clocks: drawClockSpread(seed, faultPhaseMs),
    },
    workload: withSweep(drawWorkload(rng, seed, clients, keyCount), readRepairWorld, timings),
    warmupMs: 300,
    faultPhaseMs,
    healPhaseMs: 3000, // drawStorageFaults is told this too
    quietMs: 20000,
    quietAtLeastBound: true,
    wipesMax: Math.max(0, w - 1),
    storageFaults: drawStorageFaults(seed, faultPhaseMs, 3000),
    channelFaults: drawChannelFaults(seed, faultPhaseMs),
  };
  const shape = drawScheduleShape(rng, faultPhaseMs);
  // Drawn last, so the draws above stay what they were before sync = false existed.
  const sync = !rng.chance(0.3);
  const membership = drawMembership(seed, size, n, w, faultPhaseMs);
  const withMembership: RunSpec =
    membership.length === 0
      ? spec
      : {
          ...spec,
          membership,
          cluster: { ...spec.cluster, spares: membership.filter((e) => e.kind === "join").length },
          // A removed member's disk is gone for good: one of the W-1 disk losses.
          wipesMax: Math.max(0, spec.wipesMax - membership.filter((e) => e.kind === "remove").length),
        };
  return { seed, spec: { ...withMembership, cluster: { ...withMembership.cluster, sync } }, shape, arbitrary: scheduleArbitrary(shape) };
}

/** Message latency: a base range, jitter and rare spikes. */
function drawLatency(rng: Rng): RunSpec["cluster"]["latency"] {
  return {
    baseMinMs: 0.5,
    baseMaxMs: 1 + rng.next() * 9,
    jitterMs: rng.next() * 15,
    spikeRate: rng.next() * 0.02,
    spikeMs: 300,
  };
}

/** Storage read and write times. */
function drawStorageTimes(rng: Rng): RunSpec["cluster"]["storage"] {
  return {
    readMinMs: 0.1,
    readMaxMs: 0.5 + rng.next() * 2,
    writeMinMs: 0.5,
    // Some seeds get slow disks: a longer window between a write and its sync.
    writeMaxMs: rng.chance(0.3) ? 40 + rng.next() * 100 : 2 + rng.next() * 25,
  };
}

/** The clients' think times, operation mix and values. */
function drawWorkload(rng: Rng, seed: number, clients: number, keyCount: number): WorkloadSpec {
  return {
    clients,
    keys: Array.from({ length: keyCount }, (_, i) => `k${i}`),
    thinkMinMs: 5,
    thinkMaxMs: 30 + rng.next() * 200,
    mix: {
      blind: 0.1 + rng.next(),
      rmw: 0.1 + rng.next(),
      delete: rng.next() * 0.3,
      read: 0.1 + rng.next() * 0.6,
      reuse: rng.next() * 0.8,
      stale: rng.next() * 0.3,
      reuseDelete: rng.next() * 0.2,
    },
    afterHeal: "write",
    perRequestQuorum: rng.chance(0.5) ? 0.3 : 0,
    valuePadMax: rng.chance(0.2) ? 2000 : 40,
    // A constant, not a draw: the seed's other draws stay as they were.
    returnBody: 0.25,
    reaperKeys: drawReaperKeys(seed),
    clientTimeoutMs: 4000,
    opsMax: Infinity,
  };
}

/** The fault schedule's shape: how many episodes, of which kinds, how long; drop and duplicate rates. */
function drawScheduleShape(rng: Rng, faultPhaseMs: number): ScheduleShape {
  return {
    faultPhaseMs,
    episodesMax: 10,
    dropRateMax: rng.chance(0.5) ? 0.1 : 0,
    dupRateMax: rng.chance(0.6) ? 0.3 : 0,
    durMinMs: 50,
    durMaxMs: 4000,
    weights: {
      crash: 3,
      "machine-crash": 2,
      "power-loss": 1,
      outage: 5,
      pause: 2,
      wipe: 5,
      partition: 3,
      isolate: 2,
      "one-way": 1,
      bridge: 1,
      clog: 1,
    },
  };
}

/**
 * How far the nodes' wall clocks stray in this seed: a third of the seeds keep exact clocks,
 * the others get offsets up to 0.5-10 s, drift up to 200 ppm and up to 3 jumps of up to 10 s
 * (forward or backward) during the fault phase. Drawn from its own stream, so the other draws
 * of a seed are the same with or without it.
 */
function drawClockSpread(seed: number, faultPhaseMs: number): ClockSpread | undefined {
  const rng = new Rng(seed, fnv32("swarm-clocks"));
  if (rng.chance(1 / 3)) return undefined;
  const skewMaxMs = rng.pick([500, 1500, 5000, 10000]);
  return {
    offsetMaxMs: skewMaxMs,
    driftMaxPpm: rng.chance(0.5) ? 200 : 0,
    jumpsMax: rng.chance(0.5) ? 3 : 0,
    jumpMaxMs: skewMaxMs,
    jumpFromMs: 0,
    jumpUntilMs: faultPhaseMs,
  };
}

/**
 * The keys of the reaper clients (sim/workload.ts: each deletes and re-creates its own key,
 * racing the reaping of it): none in 60% of the seeds, else one or two. Drawn from their own
 * stream, so the other draws of a seed are the same with or without them.
 */
function drawReaperKeys(seed: number): string[] {
  const rng = new Rng(seed, fnv32("swarm-reapers"));
  if (rng.chance(0.6)) return [];
  return Array.from({ length: rng.int(1, 2) }, (_, i) => `z${i}`);
}

/**
 * Read-repair worlds: in 12% of the seeds anti-entropy is off, the clients only read after the
 * heal (no write reaches every primary to repair a key), and after the healed phase a sweep
 * client reads every key once (sim/workload.ts startSweep), so read repair alone must
 * converge the replicas (a repair that skips a replica shows as a convergence finding). Drawn
 * from their own stream, so the other draws of a seed are the same with or without them.
 */
function drawReadRepairWorld(seed: number): boolean {
  return new Rng(seed, fnv32("swarm-read-repair")).chance(0.12);
}

/**
 * The sweep starts once restarted nodes are seen up and their hints handed off (twice the
 * failure detector's settle time plus two handoff rounds), well inside the 20 s quiet period.
 */
function withSweep(workload: WorkloadSpec, on: boolean, t: RunSpec["cluster"]["timings"]): WorkloadSpec {
  if (!on) return workload;
  const settleMs = t.suspectAfterMs + t.heartbeatIntervalMs + t.requestTimeoutMs;
  return { ...workload, afterHeal: "read", sweepAfterMs: 2 * settleMs + 2 * t.handoffIntervalMs };
}

/** Storage faults of seed N: none in 40% of the seeds; else write errors, full disks, bit flips. */
export function drawStorageFaults(seed: number, faultPhaseMs: number, healPhaseMs: number): StorageFaultPlan {
  const rng = new Rng(seed, fnv32("storage-faults"));
  if (rng.chance(0.4)) return { writeErrorRate: 0, episodes: [], corruptions: [] };
  const episodes = Array.from({ length: rng.int(0, 2) }, () => ({
    atMs: rng.int(0, faultPhaseMs),
    durMs: rng.int(100, 4000),
    node: rng.int(0, 63),
    reason: rng.chance(0.6) ? ("full" as const) : ("io" as const),
  }));
  const corruptions = Array.from({ length: rng.int(0, 3) }, () => ({ atMs: rng.int(0, faultPhaseMs + healPhaseMs), node: rng.int(0, 63), pick: rng.int(0, 9999), at: rng.int(0, 9999) }));
  return { writeErrorRate: rng.chance(0.3) ? rng.next() * 0.02 : 0, episodes, corruptions };
}

/**
 * Channel faults of seed N: none in 60% of the seeds; else 1-3 episodes, each a dead data
 * channel (control alive), a dead control channel (data alive) or a busy data channel (a
 * backlog of 0.1-4 s on data messages only), of one node's links or of one pair, for
 * 0.2-4 s of the fault phase. The draws of every other stream are unchanged by them.
 */
export function drawChannelFaults(seed: number, faultPhaseMs: number): Episode[] {
  const rng = new Rng(seed, fnv32("channel-faults"));
  if (rng.chance(0.6)) return [];
  return Array.from({ length: rng.int(1, 3) }, () => ({
    atMs: rng.int(0, faultPhaseMs),
    durMs: rng.int(200, 4000),
    kind: rng.weighted<EpisodeKind>([["data-cut", 3], ["control-cut", 1], ["data-busy", 3]]),
    node: rng.int(0, 63),
    peer: rng.int(0, 63),
    mask: rng.int(0, 0xffff),
  }));
}

/**
 * Membership episodes of seed N (sim/membership.ts): none in 70% of the seeds; else one, in the
 * first half of the fault phase: a spare joins knowing one member, a member leaves, or a
 * member crashes for good and is removed. Leave and remove only where the members left still
 * number at least N (a request's w may be N); remove only where W-1 allows one more disk loss.
 * Drawn from their own stream, so every other draw of a seed is the same with or without them.
 */
export function drawMembership(seed: number, size: number, n: number, w: number, faultPhaseMs: number): MembershipEpisode[] {
  const rng = new Rng(seed, fnv32("swarm-membership"));
  if (!rng.chance(0.3)) return [];
  const kinds: [MembershipKind, number][] = [["join", 2]];
  if (size > n) kinds.push(["leave", 2]);
  if (size > n && w >= 2) kinds.push(["remove", 1]);
  const kind = rng.weighted(kinds);
  return [{ kind, atMs: rng.int(0, Math.floor(faultPhaseMs / 2)), node: rng.int(0, 63), via: rng.int(0, 63) }];
}

/** The schedule seed N runs with. */
export function worldSchedule(world: SwarmWorld): FaultSchedule {
  return drawSchedule(world.arbitrary, world.seed);
}

/** One line describing the drawn configuration (printed before a run). */
export function describeWorld(world: SwarmWorld): string {
  const c = world.spec.cluster;
  const wl = world.spec.workload;
  const bugs = c.bugs.length > 0 ? ` bugs=${c.bugs.join(",")}` : "";
  const k = c.clocks;
  const clocks = k === undefined ? "" : ` clocks=±${k.offsetMaxMs}ms,${k.driftMaxPpm}ppm,${k.jumpsMax}jumps`;
  const sf = world.spec.storageFaults;
  const storage =
    sf === undefined || (sf.writeErrorRate === 0 && sf.episodes.length === 0 && sf.corruptions.length === 0)
      ? ""
      : ` storageFaults=errors:${sf.writeErrorRate.toFixed(3)},episodes:${sf.episodes.map((e) => e.reason).join("+") || 0},corruptions:${sf.corruptions.length}`;
  const cf = world.spec.channelFaults ?? [];
  const channels = cf.length === 0 ? "" : ` channelFaults=${cf.map((e) => e.kind).join("+")}`;
  const ms = world.spec.membership ?? [];
  const membership = ms.length === 0 ? "" : ` membership=${ms.map((e) => `${e.kind}@${e.atMs}ms`).join("+")}`;
  const t = c.timings;
  const sweep = wl.sweepAfterMs === undefined ? "" : ` sweep=+${wl.sweepAfterMs}ms`;
  return `nodes=${c.size} n=${c.n} r=${c.r} w=${c.w} mode=${c.mode}${c.sync === false ? " sync=false" : ""}${bugs} clients=${wl.clients} keys=${wl.keys.length}${(wl.reaperKeys ?? []).length > 0 ? ` reapers=${wl.reaperKeys!.length}` : ""} faultPhase=${world.spec.faultPhaseMs}ms wipesMax=${world.spec.wipesMax} timeout=${t.requestTimeoutMs}ms suspect=${t.suspectAfterMs}ms ae=${t.antiEntropyIntervalMs}ms${sweep}${clocks}${storage}${channels}${membership}`;
}
