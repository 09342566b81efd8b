// What a replica checks before it mints a dot. Owns: the limits a client's context must stay
// within so that every write leaves a record this node can decode, a clock a client can send
// back, and a counter this actor has not used. Must not know: storage, messages, HTTP.
//
// - Counters: the new dot is max(stored, context)[actor] + 1, and the storage codec (like the
//   X-Mec-Vclock codec) holds counters up to VCLOCK_COUNTER_MAX = 2^32-1. A context naming a
//   counter of this node's own actor above what the key's record holds is forged (only this
//   actor mints its dots, and the record holds every one: after any data loss the node has a
//   new actor), and is refused: followed, it would make the actor skip ahead, and a counter
//   pushed to the limit would leave the key unwritable. A write past the limit is refused.
// - Clock growth: a context may name actors the stored clock does not hold (writes the minting
//   replica has not received yet), but the key's clock may not grow past KEY_ACTORS_MAX
//   actors through them, nor past a header of VCLOCK_HEADER_MAX_BYTES characters: a client
//   must always be able to send a key's clock back, so the key stays resolvable. (Dropping
//   unknown actors instead would be unsafe: the write would no longer supersede siblings the
//   client saw, and they would come back.) The minting actor itself always fits: the clock
//   also grows by one actor per node start that writes the key, which this guard does not
//   refuse (README: limits).
// - Every set about to be stored is decoded back first: a record the node could not read is
//   never written (the write is refused instead).
import type { Actor, SiblingSet, VClock } from "../versioning/types.ts";
import { VCLOCK_COUNTER_MAX, VCLOCK_HEADER_MAX_BYTES, counterOf, decodeSiblingSet, encodeSiblingSet, encodeVclock } from "../versioning/index.ts";

/** Most actors a write's context may bring a key's clock to (the minting actor not counted). */
export const KEY_ACTORS_MAX = 100;

/**
 * Why the context must not be minted against `stored` by `actor`, or null. ownDots: `actor`
 * is this node's own actor, whose every dot for the key `stored` holds, so a context cannot
 * legitimately name a higher counter for it (false in the client-vclock teaching mode).
 */
export function contextRefusal(stored: SiblingSet, context: VClock, actor: Actor, ownDots: boolean): string | null {
  const issued = counterOf(stored.clock, actor);
  if (ownDots && counterOf(context, actor) > issued) {
    return `the context gives this node's actor ${JSON.stringify(actor)} counter ${counterOf(context, actor)}, but it issued only ${issued} for the key (a forged context)`;
  }
  const counter = Math.max(issued, counterOf(context, actor));
  if (counter >= VCLOCK_COUNTER_MAX) {
    return `the context gives actor ${JSON.stringify(actor)} counter ${counter}; the next dot would exceed the counter limit ${VCLOCK_COUNTER_MAX}`;
  }
  let unknown = 0;
  for (const a of context.keys()) if (a !== actor && !stored.clock.has(a)) unknown++;
  if (unknown > 0 && stored.clock.size + unknown > KEY_ACTORS_MAX) {
    return `the context names ${unknown} actors this key's clock does not hold (it holds ${stored.clock.size}); a write may bring a key's clock to at most ${KEY_ACTORS_MAX} actors`;
  }
  return null;
}

/** The bytes to store for `set` (and what they decode to), or why not (undecodable, or a clock too large to send back). */
export function encodeChecked(set: SiblingSet, grew: boolean): { ok: true; bytes: Uint8Array; decoded: SiblingSet } | { ok: false; message: string } {
  let bytes: Uint8Array;
  let decoded: SiblingSet;
  try {
    bytes = encodeSiblingSet(set);
    decoded = decodeSiblingSet(bytes);
  } catch (e) {
    return { ok: false, message: `the write would store a record this node cannot read (${e instanceof Error ? e.message : String(e)})` };
  }
  if (grew) {
    let header = 0;
    try {
      header = encodeVclock(set.clock).length;
    } catch (e) {
      return { ok: false, message: `the key's clock would exceed the X-Mec-Vclock limits (${e instanceof Error ? e.message : String(e)})` };
    }
    if (header > VCLOCK_HEADER_MAX_BYTES) {
      return { ok: false, message: `the key's clock would need a ${header}-character X-Mec-Vclock, more than the limit ${VCLOCK_HEADER_MAX_BYTES}` };
    }
  }
  return { ok: true, bytes, decoded };
}
