// The trace: one canonical JSON line per simulator event (message sent / delivered / dropped /
// duplicated, timer fired, storage op and completion, client invoke and completion, fault,
// node event), each with the simulated time and the node. The trace hash (sha256 over the
// lines) is what the determinism checker compares between two runs of a seed.
// Tracing is off unless a hash or a sink is requested, so swarm runs pay nothing for it.
//
// Line format: {"t": ms since the run began, "ev": kind, "node": id or null, ...fields}
//   run            spec, schedule, ...header          the run's configuration (first line; header =
//                  how to re-run it: {source: {kind: "seed", seed, bugs} | {kind: "scenario", file, seed, bugs}},
//                  written to the sink but not hashed)
//   boot           seed, boot                         a node process starts (boot = 1, 2, ...)
//   send           to, id, type, reqId, size, h, carries   a message leaves (h = fnv32 of its bytes;
//                  carries = key, set {clock, live, dead} or ctx of the payload, when the SUT describes it;
//                  channel: "control" on control-channel messages, absent on data)
//   duplicate      to, id                             the network will deliver it twice
//   deliver        from, id                           it reached a live node (node = receiver)
//   drop           to|from, id, reason                loss | cut | down
//   timer          timerId                            a node timer fired
//   storage-op     op, key | prefix | puts, dels, sets  a storage operation was submitted (sets: the
//                  objects it writes, summarised like carries)
//   storage-done   op, ok                             ... and completed (writes are now durable)
//   invoke         op, client, kind, key, value, context     a client operation starts
//   complete       op, outcome, dot, error, read      ... and ends (ok | failed | unknown)
//   node-event     event                              a NodeEvent (dot-minted, quorum, ...)
//   crash | machine-crash  lostWrites                 a process / machine crash
//   wipe, pause, resume, cut / uncut (cut), clog (a, b, untilMs), busy (a, b, channel, extraMs, untilMs), heal, heal-all
//   violation      property, detail                   a checker's finding (last lines)
//   log            level, msg, fields                 the node's warnings and errors
// Bytes are base64, bigints decimal strings, clocks {actor: {counter, timestamp}}.
import { createHash, type Hash } from "node:crypto";
import { SIM_EPOCH_MS } from "./scheduler.ts";

export interface TraceOptions {
  /** Compute the trace hash. */
  readonly hash?: boolean;
  /** Receives each line (without newline), e.g. to write a --trace file. */
  readonly sink?: (line: string) => void;
  /** Extra fields of the first ("run") line, e.g. how to re-run it (seed, scenario file). */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Called once with the cluster before it boots (the trace viewer inspects node state from the sink). */
  readonly attach?: (cluster: import("./cluster.ts").SimCluster) => void;
}

export class Tracer {
  readonly on: boolean;
  private readonly hasher: Hash | null;
  private readonly sink: ((line: string) => void) | null;
  lines = 0;
  /** Payload summaries for send / storage-op lines (set by the run from the system under test). */
  describe: import("./sut.ts").TraceDescriber | null = null;

  constructor(options: TraceOptions = {}) {
    this.hasher = options.hash ? createHash("sha256") : null;
    this.sink = options.sink ?? null;
    this.on = this.hasher !== null || this.sink !== null;
  }

  /** Records one event at simulated time nowMs. Callers check `on` first to skip building records. */
  emit(nowMs: number, ev: string, node: string | null, fields: Record<string, unknown> = {}, unhashed?: Readonly<Record<string, unknown>>): void {
    if (!this.on) return;
    const t = Math.round((nowMs - SIM_EPOCH_MS) * 1000) / 1000;
    const line = JSON.stringify({ t, ev, node, ...fields }, jsonReplacer);
    this.lines++;
    this.hasher?.update(line + "\n");
    // Fields that say how the run was started (not what it did) stay out of the hash.
    this.sink?.(unhashed === undefined ? line : JSON.stringify({ t, ev, node, ...fields, ...unhashed }, jsonReplacer));
  }

  /** Hex sha256 of all lines so far ("" when hashing is off). */
  digest(): string {
    return this.hasher ? this.hasher.copy().digest("hex") : "";
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
