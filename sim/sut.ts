// The system under test, as the simulator sees it: how to build a node, how to read a wire
// message's type and request id, how to read the objects out of a node's storage, where a
// key lives, and how to compare sibling sets. sim/mecdb.ts binds it to MecDB's node; tests
// bind it to small stand-in nodes. The simulator itself never imports src/core internals.
import type { NodeConfig, NodeId, NodeMachine } from "../src/core/types.ts";
import type { SiblingSet } from "../src/core/versioning/types.ts";

export interface MessageInfo {
  readonly type: string;
  readonly reqId: string | null;
  /** A reply or acknowledgement to a request (counts toward a coordinator's quorum). */
  readonly isReply: boolean;
  /** A reply saying the sender could not do the work (a replica that refused a write). */
  readonly refusal?: boolean;
}

export interface SystemUnderTest {
  createNode(config: NodeConfig): NodeMachine;
  /**
   * Which of a pair's two channels the message travels on (sim/network.ts), as the production
   * transport would send it. Absent: every message on the data channel.
   */
  channelOf?(bytes: Uint8Array): "control" | "data";
  /** null when the bytes are not a message the simulator understands. */
  describeMessage(bytes: Uint8Array): MessageInfo | null;
  /** The objects (not hints or metadata) in one node's storage: user key -> sibling set. */
  readObjects(entries: Iterable<readonly [string, Uint8Array]>): Map<string, SiblingSet>;
  /** The storage-key prefix of one partition's objects (the anti-entropy checker snapshots them). */
  objectPrefix?(partition: number): string;
  /** The hints (objects held for another node) in one node's storage. */
  readHints?(entries: Iterable<readonly [string, Uint8Array]>): { target: NodeId; key: string }[];
  /**
   * One stored record, if its storage key is a hint's: its target, partition and key, and the
   * set it holds (null when the record does not verify or decode). null for any other key.
   */
  readHint?(storageKey: string, bytes: Uint8Array): { target: NodeId; partition: number; key: string; set: SiblingSet | null } | null;
  /** The storage key of the hint a node holds for `target` of one key. */
  hintKey?(target: NodeId, partition: number, key: string): string;
  /** The N primaries of key on the full ring. */
  primaries(members: readonly NodeId[], partitionCount: number, n: number, key: string): NodeId[];
  /** The ring's claim table (owner of each partition): cluster state the oracle takes as data. */
  ringOwners(members: readonly NodeId[], partitionCount: number): readonly NodeId[];
  setsEqual(a: SiblingSet, b: SiblingSet): boolean;
  /** Optional, for traces only: what a message or a stored record carries (key, clock, dots). */
  readonly describe?: TraceDescriber;
}

/** Summaries of payloads for trace lines (JSON-able objects), or null when there is nothing to show. */
export interface TraceDescriber {
  message(bytes: Uint8Array): object | null;
  stored(storageKey: string, bytes: Uint8Array): object | null;
}
