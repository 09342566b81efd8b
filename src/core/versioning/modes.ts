// Versioning modes: the real one (dvv) and two teaching modes that reproduce what simpler
// schemes lose. Owns the choice of write/merge rule per mode; builds on dvvset.ts.
// Must not know: how actors are named (the caller passes the server actor in dvv/lww and the
// CLIENT id in client-vclock mode), wire formats, wall time.
//
// - dvv: dotted version vector sets. Siblings == exactly the writes not causally superseded.
// - lww (last write wins, Cassandra-style): after every write or merge keep only the sibling
//   with the greatest (timestamp, then dot). A concurrent write with an older timestamp loses
//   silently, even after it was acknowledged to its client.
// - client-vclock (the original MecDB, 2014): clocks keyed by client id. One client writing
//   concurrently through two replicas mints the same dot twice; when the replicas sync, the
//   dot appears once and one acknowledged value is gone.
import type { Actor, Dot, Sibling, SiblingSet, VClock, VersioningMode, Write } from "./types.ts";
import { sync, update } from "./dvvset.ts";
import { compareDots } from "./vclock.ts";

/** LWW order: timestamp, then dot. */
export function compareLww(a: Sibling, b: Sibling): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return compareDots(a.dot, b.dot);
}

/** Keep only the LWW winner (no-op for 0 or 1 siblings). */
export function keepLwwWinner(set: SiblingSet): SiblingSet {
  if (set.siblings.length <= 1) return set;
  let best: Sibling | undefined;
  for (const s of set.siblings) if (best === undefined || compareLww(s, best) > 0) best = s;
  return { clock: set.clock, siblings: best === undefined ? [] : [best] };
}

/** Apply a coordinated write under `mode`. In client-vclock mode `actor` is the client id. */
export function applyWrite(
  mode: VersioningMode,
  set: SiblingSet,
  context: VClock,
  actor: Actor,
  write: Write,
): { set: SiblingSet; dot: Dot } {
  switch (mode) {
    case "dvv":
    case "client-vclock":
      return update(set, context, actor, write);
    case "lww": {
      const r = update(set, context, actor, write);
      return { set: keepLwwWinner(r.set), dot: r.dot };
    }
    default:
      return assertNever(mode);
  }
}

/** Merge two replica states of one key under `mode`. */
export function mergeReplicas(mode: VersioningMode, a: SiblingSet, b: SiblingSet): SiblingSet {
  switch (mode) {
    case "dvv":
    case "client-vclock":
      return sync(a, b);
    case "lww":
      return keepLwwWinner(sync(a, b));
    default:
      return assertNever(mode);
  }
}

export const VERSIONING_MODES: readonly VersioningMode[] = ["dvv", "lww", "client-vclock"];

export function isVersioningMode(x: unknown): x is VersioningMode {
  return x === "dvv" || x === "lww" || x === "client-vclock";
}

function assertNever(x: never): never {
  throw new Error(`unknown versioning mode: ${String(x)}`);
}
