// The node's contract with the world: what goes in (Input), what comes out (Effect), the
// client operations it serves and the storage operations it asks for. The node is a pure
// state machine `step(input) -> Effect[]`; src/host executes the effects through the ports
// (src/ports) and feeds completions back as new inputs, one at a time. Production and
// simulation differ only in the ports.
import type { RngState } from "./random.ts";
import type { ClusterState } from "./membership/cluster-state.ts";
import type { TransferView } from "./replica/transfer.ts";
import type { DropReason } from "./validate.ts";
import type { Dot, SiblingSet, VClock, VersioningMode } from "./versioning/types.ts";

export type NodeId = string;

/** Planted bugs: each switches on one known-wrong behaviour so the simulator's checkers can be shown to catch it. */
export type BugName = "overwrite" | "lww" | "duplicate-acks" | "counter-reset" | "ack-before-durable";
export const BUG_NAMES: readonly BugName[] = ["overwrite", "lww", "duplicate-acks", "counter-reset", "ack-before-durable"];

export interface NodeConfig {
  /** Address-like id the ring and the transport use (production: "host:port"; simulation: "n1"). */
  readonly id: NodeId;
  /** Human name, the prefix of this node's actors in vclocks (actor = name + "." + incarnation). */
  readonly name: string;
  /** Every node of the cluster, this one included. */
  readonly members: readonly NodeId[];
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly partitionCount: number;
  readonly mode: VersioningMode;
  /** Seed of the node's own PRNG (boot nonce, incarnation, jitter). */
  readonly seed: number;
  /** A coordinator gives up on a request after this long. */
  readonly requestTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** A peer silent for this long is suspected (sloppy quorum routes around it). */
  readonly suspectAfterMs: number;
  readonly handoffIntervalMs: number;
  /** 0 disables anti-entropy. */
  readonly antiEntropyIntervalMs: number;
  /** Tombstones held by all N primaries are reaped after this delay; null keeps them forever. */
  readonly reapDelayMs: number | null;
  /** Whether storage writes must be durable (synced) before they count. */
  readonly syncWrites: boolean;
  readonly bugs: readonly BugName[];
  /** Bounds on keys and stored objects; absent: keys up to 65536 bytes, objects unbounded. */
  readonly limits?: ObjectLimits;
  /**
   * Ask the other `members` to add this node (they may be only some of the cluster's members):
   * see membership/membership.ts. Absent or false: the members list is the whole cluster.
   */
  readonly join?: boolean;
}

/**
 * Riak-like bounds on one key's object: above a warn limit the node logs a warning; a client
 * write whose result would exceed a max limit (and grow the object) is refused. Merges of
 * already accepted writes (replication, repair, handoff, anti-entropy) are never refused.
 */
export interface ObjectLimits {
  /** Longest key in UTF-8 bytes (peer messages naming longer keys are dropped). */
  readonly maxKeyBytes: number;
  readonly siblingsWarn: number;
  readonly siblingsMax: number;
  /** Size of the stored sibling set (all siblings' values and the clock), in bytes. */
  readonly objectBytesWarn: number;
  readonly objectBytesMax: number;
}

// ---- client operations (what the HTTP API and the simulator's clients ask) ----

export type ClientOp =
  | { readonly type: "get"; readonly key: string; readonly r?: number }
  | {
      readonly type: "put";
      readonly key: string;
      readonly value: Uint8Array;
      readonly contentType: string;
      /** The X-Mec-Vclock the client sent back; null for a blind write. */
      readonly context: VClock | null;
      readonly w?: number;
      /** Only used by the client-vclock teaching mode. */
      readonly clientId?: string;
    }
  | {
      readonly type: "delete";
      readonly key: string;
      readonly context: VClock | null;
      readonly w?: number;
      readonly clientId?: string;
    };

export type ClientErrorCode =
  | "quorum" // fewer than R/W replicas answered in time
  | "unavailable" // no replica could even be asked
  | "starting" // the node has not finished booting
  | "storage-full" // the replica that had to apply the write is out of disk space (HTTP 507)
  | "storage-error" // the replica that had to apply the write could not read or write its storage
  | "bad-request" // e.g. r > n

  | "too-many-siblings" // the write would leave more siblings than limits.siblingsMax
  | "object-too-large"; // the write would make the stored object larger than limits.objectBytesMax

export type ClientResult =
  | {
      readonly ok: true;
      readonly type: "get";
      /** Merged sibling set of the R (or more) replies; null when no replica has the key. */
      readonly set: SiblingSet | null;
      /** Replicas whose replies were merged (distinct). */
      readonly replicas: readonly NodeId[];
    }
  | {
      readonly ok: true;
      readonly type: "put" | "delete";
      /** The sibling set after the write, as the minting replica stored it. */
      readonly set: SiblingSet;
      /** The dot minted for this write. */
      readonly dot: Dot;
      /** Replicas that acknowledged a durable write (distinct). */
      readonly replicas: readonly NodeId[];
    }
  | {
      readonly ok: false;
      readonly type: "get" | "put" | "delete";
      readonly error: ClientErrorCode;
      readonly message: string;
      /** How many distinct replicas answered, and how many were needed. */
      readonly answered: number;
      readonly needed: number;
      /** For writes: the write may or may not have been applied (an unknown outcome). */
      readonly maybeApplied: boolean;
    };

// ---- storage (an ordered byte store; key layout is the replica's business) ----

export type StorageOp =
  | { readonly type: "get"; readonly key: string }
  /** sync: durable before done even when the store does not sync every write (the node's boot record). */
  | { readonly type: "put"; readonly key: string; readonly value: Uint8Array; readonly sync?: true }
  | { readonly type: "del"; readonly key: string }
  /** Atomic batch of puts and deletes. */
  | { readonly type: "batch"; readonly puts: readonly (readonly [string, Uint8Array])[]; readonly dels: readonly string[]; readonly sync?: true }
  /** All entries whose key starts with prefix, in key order. */
  | { readonly type: "scan"; readonly prefix: string };

export type StorageResult =
  | { readonly ok: true; readonly value?: Uint8Array; readonly entries?: readonly (readonly [string, Uint8Array])[] }
  | {
      readonly ok: false;
      readonly message: string;
      /** Why, when the adapter can tell: out of space, a corrupt store, any other I/O error. */
      readonly reason?: StorageFailure;
    };

export type StorageFailure = "full" | "corrupt" | "io";

// ---- node events: facts the node reports for stats, traces and the simulator's checkers ----

export type NodeEvent =
  | { readonly type: "ready"; readonly actor: string; readonly incarnation: number }
  /** Booted without its meta record and told to join: it coordinates nothing until a member's state names it ("joined"). */
  | { readonly type: "joining" }
  /** A node that reported "joining" now holds a member's state naming it: it serves requests. */
  | { readonly type: "joined" }
  | { readonly type: "dot-minted"; readonly key: string; readonly actor: string; readonly counter: number }
  /** Emitted when a coordinator answers a client after a quorum: the distinct replicas whose replies counted. */
  | { readonly type: "quorum"; readonly op: "get" | "put" | "delete"; readonly reqId: string; readonly key: string; readonly needed: number; readonly replicas: readonly NodeId[] }
  | { readonly type: "read-repair"; readonly key: string; readonly to: NodeId }
  | { readonly type: "hint-stored"; readonly key: string; readonly forNode: NodeId }
  | { readonly type: "handoff"; readonly key: string; readonly to: NodeId }
  /**
   * An anti-entropy exchange this node initiates begins (its scrub done, its bucket hashes about
   * to be sent to `peer`): the simulator snapshots both replicas' stored objects of the partition.
   */
  | { readonly type: "ae-begin"; readonly reqId: string; readonly partition: number; readonly peer: NodeId }
  /**
   * One side of an anti-entropy exchange finished merging what it received (keysRepaired: keys
   * its storage changed for). The initiator emits it once per exchange it completes (`sent`:
   * objects it sent in ae-sync; the responder then emits its own once it merged them). reqId
   * and role name the exchange (both absent only in hand-made events of tests).
   */
  | {
      readonly type: "anti-entropy";
      readonly partition: number;
      readonly peer: NodeId;
      readonly keysRepaired: number;
      readonly reqId?: string;
      readonly role?: "initiator" | "responder";
      readonly sent?: number;
    }
  | { readonly type: "suspect"; readonly peer: NodeId }
  | { readonly type: "unsuspect"; readonly peer: NodeId }
  | { readonly type: "reap"; readonly key: string }
  | { readonly type: "siblings"; readonly key: string; readonly count: number }
  /** A client write refused before minting: its context is outside the limits, or the key's stored record is unreadable. */
  | { readonly type: "mint-refused"; readonly key: string; readonly reason: "corrupt-local" | "bad-context" }
  /** Two different values with one dot met (a dot issued twice: corruption); the merge was refused. */
  | { readonly type: "dot-conflict"; readonly key: string; readonly actor: string; readonly counter: number }
  /** A stored record failed its checksum or did not decode: not served, not sent, repaired from a peer. */
  | { readonly type: "corrupt-object"; readonly key: string; readonly storageKey: string; readonly problem: string }
  /** A storage write failed: the node is not ready (refuses writes, peers route around it) until one succeeds. */
  | { readonly type: "storage-failing"; readonly reason: StorageFailure; readonly message: string }
  | { readonly type: "storage-recovered" }
  /** Boot cannot go on (the store is corrupt): the process should exit with this message. */
  | { readonly type: "boot-failed"; readonly message: string }
  /** A peer message dropped before it touched state (malformed, forged, out of range). */
  | { readonly type: "peer-message-dropped"; readonly reason: DropReason; readonly peer: NodeId }
  /** The cluster state this node holds changed (a membership change, or a transfer completed). */
  | { readonly type: "ring-changed"; readonly epoch: number; readonly owners: readonly NodeId[]; readonly members: readonly { readonly id: NodeId; readonly status: string }[]; readonly pending: readonly number[] }
  | { readonly type: "transfer-started"; readonly partition: number; readonly to: NodeId }
  | { readonly type: "transfer-done"; readonly partition: number; readonly to: NodeId; readonly objects: number }
  /** A member refused to add this node for good (the partition counts differ): the process should exit 1 with this message. */
  | { readonly type: "join-refused"; readonly message: string }
  /** This node left the cluster (its handoffs are done) or was removed: the process should exit 0. */
  | { readonly type: "left" }
  /** A client write refused because its result would exceed an object limit. */
  | { readonly type: "write-refused"; readonly key: string; readonly limit: "siblings" | "object-bytes" };

// ---- inputs and effects ----

export type Input =
  | { readonly kind: "start" }
  | { readonly kind: "message"; readonly from: NodeId; readonly bytes: Uint8Array }
  | { readonly kind: "timer"; readonly timerId: number }
  | { readonly kind: "client"; readonly clientReqId: number; readonly op: ClientOp }
  | { readonly kind: "storage"; readonly opId: number; readonly result: StorageResult }
  /** An operator's membership command (outcome: log lines and ring-changed events). */
  | { readonly kind: "admin"; readonly op: AdminOp };

export type AdminOp = { readonly type: "leave" } | { readonly type: "remove"; readonly node: NodeId };

/**
 * Every input arrives with the host's two clocks. `now` is wall time (ms since the Unix epoch):
 * it may differ between nodes by any amount and jump, so the node only writes it into
 * timestamps. `monotonic` (ms, any origin, never decreasing) measures durations: failure
 * suspicion, heartbeat spacing. Nothing the node decides depends on two nodes' clocks agreeing.
 */
export interface Stamped {
  readonly now: number;
  readonly monotonic: number;
  readonly input: Input;
}

export type Effect =
  | { readonly kind: "send"; readonly to: NodeId; readonly bytes: Uint8Array }
  | { readonly kind: "set-timer"; readonly timerId: number; readonly afterMs: number }
  | { readonly kind: "cancel-timer"; readonly timerId: number }
  | { readonly kind: "storage"; readonly opId: number; readonly op: StorageOp }
  | { readonly kind: "reply"; readonly clientReqId: number; readonly result: ClientResult }
  | { readonly kind: "event"; readonly event: NodeEvent }
  | { readonly kind: "log"; readonly level: "debug" | "info" | "warn" | "error"; readonly msg: string; readonly fields?: Readonly<Record<string, unknown>> };

/** A node: deterministic given its config and its sequence of stamped inputs. */
export interface NodeMachine {
  readonly id: NodeId;
  step(stamped: Stamped): Effect[];
  /** Read-only view of the in-memory state, for trace viewers and debugging (never changes the node). */
  inspect?(): NodeInspection;
}

/** What a node holds in memory (its stored objects and hints live in storage). */
export interface NodeInspection {
  readonly phase: string;
  readonly actor: string;
  readonly suspected: readonly NodeId[];
  /** Requests this node coordinates that have not finished, by kind. */
  readonly pending: { readonly get: number; readonly put: number; readonly replicate: number };
  /** The node's seeded generator state: every later draw follows from it (Rng.restore). */
  readonly rng: RngState;
  /** The cluster state this node holds, and the partitions waiting for a transfer. */
  readonly cluster?: ClusterState;
  readonly transfers?: { readonly pending: number; readonly active: readonly TransferView[]; readonly objectsSent: number; readonly objectsReceived: number; readonly completed: number };
}
