// Types of causal versioning shared by the whole core: clocks (version vectors with
// per-actor timestamps, the content of X-Mec-Vclock), dots, siblings and sibling sets.
// Pure data; the operations live in vclock.ts, dvvset.ts, modes.ts and codec.ts.

/** A server-side actor id: node name plus incarnation, e.g. "n1.3f2a9c01" (or a client id in client-vclock mode). */
export type Actor = string;

export interface ClockEntry {
  readonly counter: number;
  /** Nanoseconds since the Unix epoch; uint64 on the wire, so a bigint here. */
  readonly timestamp: bigint;
}

/** A version vector with per-actor timestamps. Iteration order is wire order. */
export type VClock = ReadonlyMap<Actor, ClockEntry>;

export type Ordering = "equal" | "before" | "after" | "concurrent";

/** One event of one actor: the (actor, counter) pair that names a sibling. */
export interface Dot {
  readonly actor: Actor;
  readonly counter: number;
}

export interface Sibling {
  readonly dot: Dot;
  /** null marks a tombstone (a delete is a sibling too). */
  readonly value: Uint8Array | null;
  readonly contentType: string;
  /** Nanoseconds since the Unix epoch when the write was coordinated. */
  readonly timestamp: bigint;
}

/** Dotted version vector set of one key: the siblings plus the causal context that covers them all. */
export interface SiblingSet {
  readonly clock: VClock;
  readonly siblings: readonly Sibling[];
}

/** What a client writes: the value (null = delete) and its content type, at a coordinator timestamp. */
export interface Write {
  readonly value: Uint8Array | null;
  readonly contentType: string;
  readonly timestamp: bigint;
}

/** Versioning mode of a cluster. dvv is the real one; the others are teaching modes. */
export type VersioningMode = "dvv" | "lww" | "client-vclock";
