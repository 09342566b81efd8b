// Simulated clients and their history. Each client runs one operation at a time against a
// node it picks at random: blind writes (no context), read-modify-writes (get, then put with
// the returned clock), writes and deletes that reuse the context the client's latest answer
// for that key handed back (a PUT's or DELETE's answer as much as a GET's: the HTTP answer
// computed by src/api/write-answer.ts), writes with a stale context (an older answer's),
// deletes with context, and reads, sometimes with a per-request r or w; some puts ask for the
// stored set back (?returnbody=true: the answer shows every sibling with the set's clock, so
// reusing it resolves them, as an application resolving siblings does). Every written value
// starts with a unique write id ("k1=c2.7", then "|" and padding of a drawn size), so a value
// found in a replica names the operation that wrote it; a delete's id lives in the history.
// The history records what each answer showed the client (sim/oracle decides causality from
// it). After writesUntilMs the clients only read, or (afterHeal "write") only write and
// delete with the contexts they hold, never reading.
// Reapers (some seeds) each own one key no other client touches and cycle through its life
// until the end of the healed phase: create, read, delete with the read's context, read again
// (a read that finds every primary holding the same tombstone schedules a reap), wait past the
// reap delay, then re-create it (blind, or with the context of the last answer), so writes,
// late hints and repairs race the reaping of a key, in the healed phase too.
// In read-repair worlds (anti-entropy off) a sweep client reads every key once after the
// healed phase, so read repair is what must converge the replicas.
import type { ClientOp, NodeId } from "../src/core/types.ts";
import type { SiblingSet, VClock } from "../src/core/versioning/types.ts";
import { writeAnswer } from "../src/api/write-answer.ts";
import type { HistoryOp } from "./history.ts";
import type { ClientOutcome } from "./process.ts";
import type { Rng } from "./rng.ts";
import type { SimCluster } from "./cluster.ts";

export interface OpMix {
  readonly blind: number;
  readonly rmw: number;
  readonly delete: number;
  readonly read: number;
  /** A put with the context of the client's latest answer for the key (a write's or a read's). */
  readonly reuse?: number;
  /** A put with the context of an older answer (stale: may create siblings). */
  readonly stale?: number;
  /** A delete with the context of the client's latest answer for the key. */
  readonly reuseDelete?: number;
}

export interface WorkloadSpec {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly thinkMinMs: number;
  readonly thinkMaxMs: number;
  readonly mix: OpMix;
  /** A client gives up waiting after this long (the write's outcome is then unknown). */
  readonly clientTimeoutMs: number;
  /** Stop after this many operations in total (writes and reads); Infinity for no limit. */
  readonly opsMax: number;
  /** After the heal: "read" (default: reads only, read repair) or "write" (writes and deletes, no reads). */
  readonly afterHeal?: "read" | "write";
  /** Chance that a request names its own r (gets) or w (writes), drawn from 1..n. */
  readonly perRequestQuorum?: number;
  /** Padding appended to values: 0..valuePadMax bytes (0: none). */
  readonly valuePadMax?: number;
  /** Chance that a put asks for the stored set back (?returnbody=true). */
  readonly returnBody?: number;
  /** Keys of the reaper clients, one reaper per key (see the header); none when absent. */
  readonly reaperKeys?: readonly string[];
  /**
   * The read sweep (read-repair worlds, anti-entropy off): this long after the healed phase
   * ends, one client reads every key once, one after the other, so read repair alone must
   * bring every primary to the same set. Absent: no sweep.
   */
  readonly sweepAfterMs?: number;
}

const encoder = new TextEncoder();

/** The write id a stored value carries (the text before the padding). */
export function writeIdOfValue(text: string): string {
  const bar = text.indexOf("|");
  return bar < 0 ? text : text.slice(0, bar);
}

export class Workload {
  readonly history: HistoryOp[] = [];
  private opsStarted = 0;
  private writesUntilMs = 0;
  private stopAtMs = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly spec: WorkloadSpec,
    private readonly rng: Rng,
  ) {}

  /** Starts every client now; writes stop at writesUntilMs, everything at stopAtMs. */
  start(writesUntilMs: number, stopAtMs: number): void {
    this.writesUntilMs = writesUntilMs;
    this.stopAtMs = stopAtMs;
    for (let c = 0; c < this.spec.clients; c++) {
      const client = new Client(c, this, this.rng.fork(`client${c}`));
      this.cluster.sched.after(this.think(client.rng), () => client.next());
    }
    // Forked after the clients, so their streams are those of a run without reapers.
    (this.spec.reaperKeys ?? []).forEach((key, i) => {
      const reaper = new Reaper(this.spec.clients + i, key, this, this.rng.fork(`reaper${i}`));
      this.cluster.sched.after(this.think(reaper.rng), () => reaper.create(null));
    });
  }

  /** How long a reaper waits after its read of a deleted key: past the nodes' reap delay. */
  get reapWaitMs(): number {
    return (this.cluster.spec.timings.reapDelayMs ?? 0) + 200;
  }

  think(rng: Rng): number {
    return this.spec.thinkMinMs + rng.next() * (this.spec.thinkMaxMs - this.spec.thinkMinMs);
  }

  /** Runs fn after ms of simulated time. */
  schedule(ms: number, fn: () => void): void {
    this.cluster.sched.after(ms, fn);
  }

  /** Schedules a client's next operation after its think time. */
  invokeLater(client: Client): void {
    this.cluster.sched.after(this.think(client.rng), () => client.next());
  }

  get now(): number {
    return this.cluster.sched.now;
  }

  mayStart(): boolean {
    return this.now < this.stopAtMs && this.opsStarted < this.spec.opsMax;
  }

  /** "all": the fault phase; "writes": after the heal, writes only; "reads": after the heal, reads only. */
  phase(): "all" | "writes" | "reads" {
    if (this.now < this.writesUntilMs) return "all";
    return this.spec.afterHeal === "write" ? "writes" : "reads";
  }

  get spec_(): WorkloadSpec {
    return this.spec;
  }

  get n(): number {
    return this.cluster.spec.n;
  }

  get w(): number {
    return this.cluster.spec.w;
  }

  /** Invokes op on a node (a random client target unless `target`); done gets the history record after it completed. */
  invoke(client: number, rng: Rng, op: ClientOp, ids: { value: string | null; writeId: string | null; contextFrom: number | null; returnBody?: boolean }, done: (rec: HistoryOp) => void, target?: NodeId): void {
    this.opsStarted++;
    const c = this.cluster;
    const node: NodeId = target ?? rng.pick(c.departed.size === 0 ? c.clientTargets : c.clientTargets.filter((id) => !c.departed.has(id)));
    const rec: HistoryOp = {
      id: this.history.length,
      client,
      node,
      kind: op.type,
      key: op.key,
      value: ids.value,
      writeId: ids.writeId,
      contextFrom: ids.contextFrom,
      ...(op.type === "get" ? (op.r === undefined ? {} : { r: op.r }) : op.w === undefined ? {} : { w: op.w }),
      context: op.type === "get" ? null : op.context,
      ...(ids.returnBody === true ? { returnBody: true } : {}),
      invokedAtMs: this.now,
      completedAtMs: null,
      outcome: "pending",
      dot: null,
      readSet: null,
      shown: null,
      shownTombstones: null,
      answerContext: null,
      replicas: null,
      error: null,
    };
    this.history.push(rec);
    const tracer = this.cluster.tracer;
    if (tracer.on) tracer.emit(this.now, "invoke", node, { op: rec.id, client, kind: rec.kind, key: rec.key, value: ids.writeId, context: rec.context });
    let finished = false;
    const timeout = this.cluster.sched.after(this.spec.clientTimeoutMs, () => {
      if (finished) return;
      finished = true;
      this.complete(rec, { ok: false, type: "crashed" }, "client timeout");
      done(rec);
    });
    this.cluster.process(node).request(op, (outcome) => {
      if (finished) return;
      finished = true;
      timeout.cancel();
      this.complete(rec, outcome, null);
      done(rec);
    });
  }

  private complete(rec: HistoryOp, outcome: ClientOutcome, note: string | null): void {
    rec.completedAtMs = this.now;
    if (outcome.ok) {
      rec.outcome = "ok";
      rec.replicas = outcome.replicas;
      if (outcome.type === "get") rec.readSet = outcome.set;
      else {
        rec.dot = outcome.dot;
        this.cluster.writeAcked();
      }
      if (outcome.type === "get" || rec.returnBody === true) {
        // A read, or a put's ?returnbody=true answer: the stored set, as a GET shows it, with
        // the set's clock (a 404 of a tombstone-only set carries it too).
        recordShown(rec, outcome.set?.siblings ?? []);
        rec.answerContext = outcome.set !== null && outcome.set.clock.size > 0 ? outcome.set.clock : null;
      } else {
        const answer = writeAnswer(outcome);
        recordShown(rec, answer.shown);
        rec.answerContext = answer.clock;
      }
    } else if (!("error" in outcome)) {
      if (outcome.type === "refused") {
        rec.outcome = "failed";
        rec.error = "refused";
      } else {
        rec.outcome = rec.kind === "get" ? "failed" : "unknown";
        rec.error = note ?? "coordinator crashed";
      }
    } else {
      rec.outcome = rec.kind !== "get" && outcome.maybeApplied ? "unknown" : "failed";
      rec.error = outcome.error;
    }
    const tracer = this.cluster.tracer;
    if (tracer.on) tracer.emit(this.now, "complete", rec.node, { op: rec.id, outcome: rec.outcome, dot: rec.dot, error: rec.error, read: rec.readSet, shown: rec.shown });
  }
}

/**
 * The read sweep: one client (id after the clients and reapers) reads each key once, in
 * order, each after the previous answered, through a node it picks at random. Its reads are
 * ordinary history ops (every checker judges them).
 */
export function startSweep(workload: Workload, keys: readonly string[], clientId: number, rng: Rng): void {
  const readFrom = (i: number): void => {
    if (i >= keys.length) return;
    workload.invoke(clientId, rng, { type: "get", key: keys[i]! }, { value: null, writeId: null, contextFrom: null }, () => readFrom(i + 1));
  };
  readFrom(0);
}

/**
 * Availability probes after the quiet period: every member coordinates a blind put of a key of
 * its own, then a get of it. They live in their own history (the other checkers' snapshot was
 * taken before them); the availability checker requires them to succeed.
 */
export function startProbes(cluster: SimCluster, spec: WorkloadSpec, rng: Rng): HistoryOp[] {
  const probes = new Workload(cluster, spec, rng);
  cluster.activeMembers().forEach((node, i) => {
    const key = `probe-${node}`;
    const value = `${key}=p${i}.1`;
    const put: ClientOp = { type: "put", key, value: encoder.encode(value), contentType: "text/plain", context: null, clientId: `p${i}` };
    probes.invoke(-1 - i, rng, put, { value, writeId: value, contextFrom: null }, () => probes.invoke(-1 - i, rng, { type: "get", key }, { value: null, writeId: null, contextFrom: null }, () => {}, node), node);
  });
  return probes.history;
}

const decoder = new TextDecoder();

function recordShown(rec: HistoryOp, siblings: SiblingSet["siblings"]): void {
  rec.shown = siblings.filter((s) => s.value !== null).map((s) => writeIdOfValue(decoder.decode(s.value!)));
  rec.shownTombstones = siblings.filter((s) => s.value === null).map((s) => s.dot);
}

/** An answer the client holds for a key: the op it came from and the context it handed back. */
interface Held {
  readonly op: number;
  readonly context: VClock | null;
}

class Client {
  private seq = 0;
  /** Per key, the answers this client received (oldest first, a few kept). */
  private readonly held = new Map<string, Held[]>();
  constructor(
    readonly id: number,
    private readonly w: Workload,
    readonly rng: Rng,
  ) {}

  next(): void {
    if (!this.w.mayStart()) return;
    const key = this.rng.pick(this.w.spec_.keys);
    const mix = this.w.spec_.mix;
    const phase = this.w.phase();
    const then = (): void => this.w.invokeLater(this);
    if (phase === "reads") return this.get(key, then);
    const kind = this.rng.weighted<string>(
      phase === "all"
        ? [
            ["blind", mix.blind],
            ["rmw", mix.rmw],
            ["delete", mix.delete],
            ["read", mix.read],
            ["reuse", mix.reuse ?? 0],
            ["stale", mix.stale ?? 0],
            ["reuseDelete", mix.reuseDelete ?? 0],
          ]
        : [
            ["blind", mix.blind],
            ["reuse", mix.rmw + (mix.reuse ?? 0)],
            ["reuseDelete", mix.delete + (mix.reuseDelete ?? 0)],
          ],
    );
    const held = this.held.get(key) ?? [];
    const latest = held[held.length - 1];
    switch (kind) {
      case "blind":
        return this.put(key, null, then);
      case "read":
        return this.get(key, then);
      case "reuse":
        return this.put(key, latest ?? null, then);
      case "stale":
        return this.put(key, held.length > 1 ? this.rng.pick(held.slice(0, -1)) : (latest ?? null), then);
      case "reuseDelete":
        if (latest === undefined || latest.context === null) return this.put(key, null, then);
        return this.del(key, latest, then);
      default:
        // rmw and delete: read first, then write with the read's context.
        return this.get(key, (rec) => {
          if (rec.outcome !== "ok" || this.w.phase() !== "all" || !this.w.mayStart()) return then();
          const from: Held = { op: rec.id, context: rec.answerContext };
          if (kind === "rmw") this.put(key, from, then);
          else if (from.context === null) then();
          else this.del(key, from, then);
        });
    }
  }

  private remember(rec: HistoryOp): void {
    if (rec.outcome !== "ok") return;
    const list = this.held.get(rec.key) ?? [];
    list.push({ op: rec.id, context: rec.answerContext });
    if (list.length > 4) list.shift();
    this.held.set(rec.key, list);
  }

  /** A per-request r (from 1) or w (from the cluster's W: wipes are bounded by W-1) up to n, sometimes. */
  private quorum(least = 1): number | undefined {
    const p = this.w.spec_.perRequestQuorum ?? 0;
    return p > 0 && this.rng.chance(p) ? this.rng.int(least, this.w.n) : undefined;
  }

  private get(key: string, then: (rec: HistoryOp) => void): void {
    const r = this.quorum();
    const op: ClientOp = r === undefined ? { type: "get", key } : { type: "get", key, r };
    this.w.invoke(this.id, this.rng, op, { value: null, writeId: null, contextFrom: null }, (rec) => {
      this.remember(rec);
      then(rec);
    });
  }

  private put(key: string, from: Held | null, then: () => void): void {
    const writeId = `${key}=c${this.id}.${++this.seq}`;
    const padMax = this.w.spec_.valuePadMax ?? 0;
    const pad = padMax > 0 && this.rng.chance(0.5) ? "|" + "v".repeat(this.rng.int(0, padMax)) : "";
    const value = writeId + pad;
    const w = this.quorum(this.w.w);
    const returnBodyChance = this.w.spec_.returnBody ?? 0;
    const returnBody = returnBodyChance > 0 && this.rng.chance(returnBodyChance);
    const op: ClientOp = { type: "put", key, value: encoder.encode(value), contentType: "text/plain", context: from?.context ?? null, clientId: `c${this.id}`, ...(w === undefined ? {} : { w }) };
    this.w.invoke(this.id, this.rng, op, { value, writeId, contextFrom: from?.context ? from.op : null, returnBody }, (rec) => {
      this.remember(rec);
      then();
    });
  }

  private del(key: string, from: Held, then: () => void): void {
    const writeId = `${key}-c${this.id}.${++this.seq}`;
    const w = this.quorum(this.w.w);
    const op: ClientOp = { type: "delete", key, context: from.context, clientId: `c${this.id}`, ...(w === undefined ? {} : { w }) };
    this.w.invoke(this.id, this.rng, op, { value: null, writeId, contextFrom: from.op }, (rec) => {
      this.remember(rec);
      then();
    });
  }
}

/** A client that owns one key and cycles through its life: create, read, delete, read, wait, re-create. */
class Reaper {
  private seq = 0;
  constructor(
    readonly id: number,
    private readonly key: string,
    private readonly w: Workload,
    readonly rng: Rng,
  ) {}

  /** Writes the key: blind, or with the context of the answer `from` (a 404's, a write's). */
  create(from: HistoryOp | null): void {
    if (!this.w.mayStart()) return;
    const writeId = `${this.key}=c${this.id}.${++this.seq}`;
    const context = from?.outcome === "ok" ? from.answerContext : null;
    const op: ClientOp = { type: "put", key: this.key, value: encoder.encode(writeId), contentType: "text/plain", context, clientId: `c${this.id}` };
    this.w.invoke(this.id, this.rng, op, { value: writeId, writeId, contextFrom: context !== null ? from!.id : null }, () => this.later(() => this.readThenDelete()));
  }

  private readThenDelete(): void {
    if (!this.w.mayStart()) return;
    this.w.invoke(this.id, this.rng, { type: "get", key: this.key }, { value: null, writeId: null, contextFrom: null }, (read) => {
      if (read.outcome !== "ok" || read.answerContext === null || (read.shown ?? []).length === 0) return this.later(() => this.create(read));
      if (!this.w.mayStart()) return;
      const writeId = `${this.key}-c${this.id}.${++this.seq}`;
      const op: ClientOp = { type: "delete", key: this.key, context: read.answerContext, clientId: `c${this.id}` };
      this.w.invoke(this.id, this.rng, op, { value: null, writeId, contextFrom: read.id }, () => this.later(() => this.readDeleted()));
    });
  }

  /** Reads the deleted key (the read that may schedule its reap), waits past the reap delay, re-creates it. */
  private readDeleted(): void {
    if (!this.w.mayStart()) return;
    this.w.invoke(this.id, this.rng, { type: "get", key: this.key }, { value: null, writeId: null, contextFrom: null }, (read) => {
      const wait = this.w.reapWaitMs + this.rng.next() * 500;
      this.w.schedule(wait, () => this.create(this.rng.chance(0.5) ? read : null));
    });
  }

  private later(fn: () => void): void {
    this.w.schedule(this.w.think(this.rng), fn);
  }
}
