// What the node's modules may do to the world: the effect-producing capabilities handed to
// the coordinators and the replica by node.ts. Owns: nothing but the interface. Must not
// know: how effects are executed (src/host does that), wall time, ambient randomness.
import type { PeerMessage } from "./messages.ts";
import type { FailureDetector } from "./membership/failure-detector.ts";
import type { Rng } from "./random.ts";
import type { ClusterState } from "./membership/cluster-state.ts";
import type { BugName, ClientResult, StorageFailure, NodeConfig, NodeEvent, NodeId, StorageOp, StorageResult } from "./types.ts";
import type { VersioningMode } from "./versioning/types.ts";

export interface NodeContext {
  readonly config: NodeConfig;
  readonly self: NodeId;
  /** The mode writes and merges use (config.mode, or "lww" under the planted bug). */
  readonly mode: VersioningMode;
  /** Members, the claim and pending handoffs (gossiped; may change at any input). */
  readonly cluster: ClusterState;
  readonly detector: FailureDetector;
  readonly rng: Rng;
  /** This incarnation's actor (`name.incarnation-hex`). */
  readonly actor: string;
  /** Why storage writes are failing (disk full, I/O errors), or null: refuse work that must write. */
  readonly storageFailing: StorageFailure | null;
  /** Wall time of the input being handled (ms since the epoch): for timestamps only, never to measure durations or compare with a peer. */
  now(): number;
  hasBug(bug: BugName): boolean;
  /** A fresh request id: `${id}/${bootId}/${seq}`, never reused across restarts. */
  newReqId(): string;
  /** This process's boot id (8 hex digits of the boot nonce): different on every start. */
  readonly bootId: string;
  /** The boot id of a peer's current process as last learned (see PeerBoots), or null. */
  peerBoot(peer: NodeId): string | null;
  /** A mark that grows whenever a peer boot is heard for the first time (see PeerBoots). */
  peerBootsMark(): number;
  /** Whether `peer`'s process `boot` had been heard by the time of `mark`. */
  peerBootHeardBy(peer: NodeId, boot: string, mark: number): boolean;
  send(to: NodeId, msg: PeerMessage): void;
  storage(op: StorageOp, done: (result: StorageResult) => void): void;
  /** Schedules `fire` once; returns the timer id (for cancelTimer). */
  setTimer(afterMs: number, fire: () => void): number;
  cancelTimer(timerId: number): void;
  emit(event: NodeEvent): void;
  log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>): void;
  reply(clientReqId: number, result: ClientResult): void;
  /** Records failure evidence (a request to `peer` timed out) and emits the resulting events. */
  peerTimedOut(peer: NodeId): void;
}
