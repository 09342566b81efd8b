// Records anti-entropy exchanges from outside the nodes, for the exchange-level checker
// (sim/checkers/anti-entropy.ts). An exchange begins when its initiator reports `ae-begin`:
// both replicas' stored objects of the partition are snapshotted then (the bytes, straight
// from the simulated disks). It completes when the initiator reported its end and, if it sent
// objects, the responder reported that it merged them (`anti-entropy` events with the
// exchange's reqId): both disks are snapshotted again. Only the keys whose stored bytes differed
// at the begin are kept, decoded through the binding's storage codec (sut.readObjects: the
// record format, not the versioning logic); the comparisons are the checker's own. Anything in
// the window that may remove stored knowledge on either side (a crash or reboot, a wipe or
// lost unsynced suffix, a bit flip, a failed storage write) is recorded as `lossy`; keys
// reaped in the window on either side are marked (deleted from the disk, or cut to a clock-only
// set, which drops tombstones the other side may still hold). Exchanges that never complete are
// dropped.
import type { NodeEvent, NodeId } from "../src/core/types.ts";
import type { SiblingSet } from "../src/core/versioning/types.ts";
import type { SimProcess } from "./process.ts";
import type { SystemUnderTest } from "./sut.ts";

/** A replica's copy of one key: a sibling set, absent, or stored but unreadable (corrupt). */
export type StoredState = SiblingSet | null | "corrupt";

export interface AeKeyStates {
  readonly key: string;
  /** Initiator and responder, at the begin and at the completion. */
  readonly a0: StoredState;
  readonly b0: StoredState;
  readonly a1: StoredState;
  readonly b1: StoredState;
  /** The key was reaped on either side during the exchange (deleted from the disk, or its
   * tombstones cut to a clock-only set). */
  readonly deleted: boolean;
}

export interface AeExchangeRecord {
  readonly initiator: NodeId;
  readonly responder: NodeId;
  readonly partition: number;
  readonly reqId: string;
  readonly beginMs: number;
  readonly endMs: number;
  /** How many keys' stored bytes differed between the two at the begin. */
  readonly differing: number;
  readonly keys: readonly AeKeyStates[];
  /** Why stored knowledge may have been lost on a side during the exchange, or null. */
  readonly lossy: string | null;
}

interface Marks {
  readonly boots: number;
  readonly losses: number;
  readonly failed: number;
  readonly flips: number;
}

interface Pending {
  readonly initiator: NodeId;
  readonly responder: NodeId;
  readonly partition: number;
  readonly reqId: string;
  readonly beginMs: number;
  /** Storage keys whose bytes differed at the begin, with both sides' bytes then. */
  readonly differing: readonly (readonly [string, Uint8Array | undefined, Uint8Array | undefined])[];
  readonly marks: readonly [Marks, Marks];
  initiatorDone: boolean;
  needResponder: boolean;
  responderDone: boolean;
}

function marksOf(p: SimProcess): Marks {
  return { boots: p.boots, losses: p.storage.wipedAtMs.length, failed: p.storage.writesFailed, flips: p.storage.corruptions.length };
}

function lossBetween(id: NodeId, before: Marks, p: SimProcess): string | null {
  const now = marksOf(p);
  if (!p.isUp || now.boots !== before.boots) return `${id} crashed or restarted`;
  if (now.losses !== before.losses) return `${id} lost stored data`;
  if (now.flips !== before.flips) return `${id} had a bit flip`;
  if (now.failed !== before.failed) return `${id} had a failed storage write`;
  return null;
}

function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class AeExchangeLog {
  readonly completed: AeExchangeRecord[] = [];
  private readonly pending = new Map<string, Pending>();
  /** When each node last reported reaping each key ("node key" -> ms). */
  private readonly reapedAtMs = new Map<string, number>();

  constructor(
    private readonly sut: SystemUnderTest,
    private readonly processOf: (id: NodeId) => SimProcess,
  ) {}

  onEvent(node: NodeId, event: NodeEvent, nowMs: number): void {
    if (this.sut.objectPrefix === undefined) return;
    if (event.type === "ae-begin") return this.begin(node, event.peer, event.partition, event.reqId, nowMs);
    if (event.type === "reap") {
      this.reapedAtMs.set(`${node} ${event.key}`, nowMs);
      return;
    }
    if (event.type !== "anti-entropy" || event.reqId === undefined) return;
    const initiator = event.role === "responder" ? event.peer : node;
    const ex = this.pending.get(`${initiator} ${event.reqId}`);
    if (ex === undefined) return;
    if (event.role === "responder") ex.responderDone = true;
    else {
      ex.initiatorDone = true;
      ex.needResponder = (event.sent ?? 0) > 0;
    }
    if (ex.initiatorDone && (!ex.needResponder || ex.responderDone)) this.complete(ex, nowMs);
  }

  private begin(initiator: NodeId, responder: NodeId, partition: number, reqId: string, nowMs: number): void {
    const prefix = this.sut.objectPrefix!(partition);
    const a = this.processOf(initiator);
    const b = this.processOf(responder);
    const a0 = a.storage.withPrefix(prefix);
    const b0 = b.storage.withPrefix(prefix);
    const differing: [string, Uint8Array | undefined, Uint8Array | undefined][] = [];
    for (const [k, bytes] of a0) if (!sameBytes(bytes, b0.get(k))) differing.push([k, bytes, b0.get(k)]);
    for (const [k, bytes] of b0) if (!a0.has(k)) differing.push([k, undefined, bytes]);
    differing.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    this.pending.set(`${initiator} ${reqId}`, {
      initiator,
      responder,
      partition,
      reqId,
      beginMs: nowMs,
      differing,
      marks: [marksOf(a), marksOf(b)],
      initiatorDone: false,
      needResponder: false,
      responderDone: false,
    });
  }

  private complete(ex: Pending, nowMs: number): void {
    this.pending.delete(`${ex.initiator} ${ex.reqId}`);
    const a = this.processOf(ex.initiator);
    const b = this.processOf(ex.responder);
    const deletedIn = (p: SimProcess, k: string): boolean => (p.storage.deletedAtMs.get(k) ?? -Infinity) >= ex.beginMs;
    const reapedIn = (id: NodeId, key: string): boolean => (this.reapedAtMs.get(`${id} ${key}`) ?? -Infinity) >= ex.beginMs;
    const keys = ex.differing.map(([sk, a0, b0]) => {
      const states = [a0, b0, a.storage.peek(sk), b.storage.peek(sk)].map((bytes) => this.decode(sk, bytes));
      const key = states.find((s) => s.key !== null)?.key ?? sk;
      return {
        key,
        a0: states[0]!.state,
        b0: states[1]!.state,
        a1: states[2]!.state,
        b1: states[3]!.state,
        deleted: deletedIn(a, sk) || deletedIn(b, sk) || reapedIn(ex.initiator, key) || reapedIn(ex.responder, key),
      };
    });
    const lossy = lossBetween(ex.initiator, ex.marks[0], a) ?? lossBetween(ex.responder, ex.marks[1], b);
    this.completed.push({ initiator: ex.initiator, responder: ex.responder, partition: ex.partition, reqId: ex.reqId, beginMs: ex.beginMs, endMs: nowMs, differing: ex.differing.length, keys, lossy });
  }

  private decode(storageKey: string, bytes: Uint8Array | undefined): { key: string | null; state: StoredState } {
    if (bytes === undefined) return { key: null, state: null };
    const objects = this.sut.readObjects([[storageKey, bytes]]);
    const [entry] = objects;
    return entry === undefined ? { key: null, state: "corrupt" } : { key: entry[0], state: entry[1] };
  }
}
