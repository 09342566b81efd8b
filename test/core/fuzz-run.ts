// One randomised run of the in-test harness (a smoke test of the node's safety and liveness under
// message loss, duplication, reordering and crashes; the real exploration is the simulator).
import { Harness, bytes } from "./harness.ts";
import { Rng } from "../../src/core/random.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import type { ClientResult, NodeConfig, NodeId } from "../../src/core/types.ts";
import type { Dot, VClock } from "../../src/core/versioning/types.ts";
import { covers, setsEqual } from "../../src/core/versioning/index.ts";

interface WriteRecord {
  key: string;
  context: VClock | null;
  outcome: "ok" | "unknown" | "failed" | "pending";
  isDelete: boolean;
  dot: Dot | null;
}

export function run(seed: number, overrides: Partial<NodeConfig> = {}, debug = false): { violations: string[]; acked: number } {
  const rng = new Rng(seed);
  const nodes = 4 + rng.nextInt(2);
  const h = new Harness(nodes, { antiEntropyIntervalMs: 50, reapDelayMs: rng.nextInt(2) === 0 ? null : 20, ...overrides });
  h.startAll();
  const keys = ["a", "b", "c"];
  const lastContext = new Map<string, VClock>();
  const writes: WriteRecord[] = [];
  const down = new Set<NodeId>();
  h.latencyFn = () => 1 + rng.nextInt(30);
  h.netFilter = () => {
    const x = rng.nextInt(100);
    return x < 5 ? "drop" : x < 10 ? "duplicate" : "deliver";
  };
  for (let step = 0; step < 80; step++) {
    const up = h.members.filter((m) => !down.has(m));
    const via = up[rng.nextInt(up.length)] ?? "n1";
    const key = keys[rng.nextInt(keys.length)] ?? "a";
    const kind = rng.nextInt(10);
    if (kind < 4 || kind === 9) {
      const ctx = kind < 2 ? null : (lastContext.get(key) ?? null);
      const rec: WriteRecord = { key, context: ctx, outcome: "pending", dot: null, isDelete: kind === 9 };
      if (debug) h.timeline.push(`${(h.now - 1_700_000_000_000).toFixed(2)} ${via} CLIENT ${kind === 9 ? "delete" : "put"} ${key} ctx ${ctx === null ? "null" : [...ctx].map(([a, e]) => `${a}:${e.counter}`).join(",")}`);
      writes.push(rec);
      const op = kind === 9
        ? ({ type: "delete", key, context: ctx } as const)
        : ({ type: "put", key, value: bytes(`${key}-${step}`), contentType: "text/plain", context: ctx } as const);
      h.submit(via, op, (r: ClientResult) => {
        if (r.ok && r.type !== "get") {
          rec.outcome = "ok";
          rec.dot = r.dot;
        } else if (!r.ok) rec.outcome = r.maybeApplied ? "unknown" : "failed";
      });
    } else if (kind < 8) {
      h.submit(via, { type: "get", key }, (r) => {
        if (r.ok && r.type === "get" && r.set !== null) lastContext.set(key, r.set.clock);
      });
    } else if (down.size === 0) {
      const victim = h.members[rng.nextInt(h.members.length)] ?? "n1";
      h.stop(victim);
      down.add(victim);
    } else {
      for (const d of down) h.boot(d);
      down.clear();
    }
    h.runFor(rng.nextInt(40));
  }
  // Heal: everyone up, a clean network, time to converge.
  for (const d of down) h.boot(d);
  h.netFilter = () => "deliver";
  h.runFor(20_000);

  const violations: string[] = [];
  const minted = h.allEvents("dot-minted").map((e) => (e.event.type === "dot-minted" ? `${e.event.key}/${e.event.actor}:${e.event.counter}` : ""));
  if (new Set(minted).size !== minted.length) violations.push("a dot was minted twice");
  const cfg = h.config("n1");
  const ring = createRing(h.members, cfg.partitionCount);
  for (const key of keys) {
    const prim = preferenceList(ring, partitionOf(key, cfg.partitionCount), cfg.n).primaries;
    const sets = prim.map((p) => h.objects(p).get(key));
    const first = sets[0];
    if (sets.some((s) => (s === undefined) !== (first === undefined) || (s !== undefined && first !== undefined && !setsEqual(s, first)))) {
      violations.push(`replicas of ${key} did not converge`);
      continue;
    }
    for (const w of writes.filter((x) => x.key === key && x.outcome === "ok")) {
      const dot = w.dot as Dot;
      if (first === undefined || !covers(first.clock, dot)) {
        violations.push(`acknowledged write ${dot.actor}:${dot.counter} of ${key} is not in the history`);
        continue;
      }
      if (w.isDelete) continue; // a tombstone may be reaped
      const live = first.siblings.some((s) => s.dot.actor === dot.actor && s.dot.counter === dot.counter);
      const superseded = writes.some((o) => o !== w && o.key === key && o.outcome !== "failed" && o.context !== null && covers(o.context, dot));
      if (!live && !superseded) violations.push(`acknowledged write ${dot.actor}:${dot.counter} of ${key} was lost`);
    }
  }
  for (const m of h.members) if (h.hints(m).length > 0) violations.push(`${m} still holds hints after heal`);
  if (debug && violations.length > 0) {
    const fmt = (c: VClock | null) => (c === null ? "null" : [...c].map(([a, e]) => `${a}:${e.counter}`).join(","));
    for (const w of writes) console.log(w.key, w.outcome, w.dot === null ? "-" : `${w.dot.actor}:${w.dot.counter}`, "ctx", fmt(w.context));
    for (const m of h.members) for (const [k, s] of h.objects(m)) console.log(m, k, fmt(s.clock), s.siblings.map((x) => `${x.dot.actor}:${x.dot.counter}=${x.value === null ? "TOMB" : new TextDecoder().decode(x.value)}`).join(" "));
    console.log(h.timeline.filter((l) => l.includes('"key":"c"') || l.endsWith("STOP") || l.endsWith("BOOT")).join("\n"));
  }
  return { violations, acked: writes.filter((w) => w.outcome === "ok").length };
}

