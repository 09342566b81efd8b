// Dotted version vector sets (Preguica, Baquero et al.; Riak 2.0 `dvvset`) in the
// "clock + dotted siblings" form: per key, the siblings (each tagged with the dot of the
// write that made it) plus one version vector that covers every dot the replica has seen.
// Owns: update (a coordinated write with the client's context), sync (merge of two replica
// states), and the comparisons built on them.
// Must not know: wire formats, storage, networking, wall time (timestamps come in a Write).
//
// Theory of operation.
// - A dot (actor, n) names exactly one write: only `actor` mints dots for itself and its
//   counter only grows (actors carry an incarnation, so a node that lost its data gets a new
//   actor instead of reusing counters).
// - set.clock covers every dot the replica has seen, live or superseded. A sibling is live
//   because nobody who wrote after seeing it has reached this replica yet.
// - update(set, C, actor, w): the client saw exactly what C covers, so the new write
//   supersedes exactly the siblings whose dots C covers; the others are concurrent and stay.
//   The new dot is (actor, max(set.clock[actor], C[actor]) + 1) and the clock becomes
//   merge(set.clock, C) plus that dot.
// - sync(a, b): a sibling of a survives iff b holds the same dot, or b.clock does not cover
//   it (b has never seen it, so b cannot have superseded it); symmetrically for b. If b.clock
//   covers it but b does not hold it, b saw a write that superseded it. (dvvset sync.)
//   When the same dot is held by both sides with different content (only possible in the
//   client-vclock teaching mode, where dots are not unique), a fixed total order on content
//   picks one, so sync stays commutative, associative and idempotent.
// - Siblings are kept sorted by (actor, counter): equal sets have identical representations.
import type { Actor, Dot, Sibling, SiblingSet, VClock, Write } from "./types.ts";
import { clocksEqual, compareDots, counterOf, covers, dotKey, emptyClock, merge, setEntry } from "./vclock.ts";

/** The state of a key nobody has written. */
export function emptySet(): SiblingSet {
  return { clock: emptyClock(), siblings: [] };
}

/** Siblings in canonical order: by actor, then counter. */
export function sortSiblings(siblings: readonly Sibling[]): Sibling[] {
  return [...siblings].sort((x, y) => compareDots(x.dot, y.dot));
}

/**
 * Apply a write coordinated by `actor` with the client's causal `context`.
 * Returns the new set and the dot minted for the write.
 */
export function update(set: SiblingSet, context: VClock, actor: Actor, write: Write): { set: SiblingSet; dot: Dot } {
  const kept = set.siblings.filter((s) => !covers(context, s.dot));
  const counter = Math.max(counterOf(set.clock, actor), counterOf(context, actor)) + 1;
  const dot: Dot = { actor, counter };
  const clock = setEntry(merge(set.clock, context), actor, { counter, timestamp: write.timestamp });
  const sibling: Sibling = { dot, value: write.value, contentType: write.contentType, timestamp: write.timestamp };
  return { set: { clock, siblings: sortSiblings([...kept, sibling]) }, dot };
}

/** Remove the siblings `context` covers and fold it into the clock, without a new write. */
export function discard(set: SiblingSet, context: VClock): SiblingSet {
  return {
    clock: merge(set.clock, context),
    siblings: set.siblings.filter((s) => !covers(context, s.dot)),
  };
}

/** Byte order of two values (null first). Equal values are the common case, so equal 4-byte words are skipped first. */
function compareBytes(a: Uint8Array | null, b: Uint8Array | null): number {
  if (a === b) return 0; // one array (or both null)
  if (a === null || b === null) return a === null ? -1 : 1;
  const n = Math.min(a.length, b.length);
  let i = 0;
  if (n >= 32 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = n >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    let w = 0;
    while (w < words && wa[w] === wb[w]) w++;
    i = w << 2; // the bytes before i are equal; the byte loop finds the first difference
  }
  for (; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Total order on a sibling's content (timestamp, content type, value); 0 iff identical. */
export function compareSiblingContent(a: Sibling, b: Sibling): number {
  if (a === b) return 0;
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  if (a.contentType !== b.contentType) return a.contentType < b.contentType ? -1 : 1;
  return compareBytes(a.value, b.value);
}

/** Same dot, value, content type and timestamp. */
export function siblingsEqual(a: Sibling, b: Sibling): boolean {
  if (a === b) return true;
  return a.dot.actor === b.dot.actor && a.dot.counter === b.dot.counter && compareSiblingContent(a, b) === 0;
}

/**
 * The siblings in canonical order, one per dot: as they are when already strictly sorted (every
 * stored or received set is), else deduplicated (the last sibling of a dot wins) and sorted.
 */
function canonicalSiblings(siblings: readonly Sibling[]): readonly Sibling[] {
  let sorted = true;
  for (let i = 1; i < siblings.length && sorted; i++) sorted = compareDots(siblings[i - 1]!.dot, siblings[i]!.dot) < 0;
  if (sorted) return siblings;
  const byDot = new Map<string, Sibling>();
  for (const s of siblings) byDot.set(dotKey(s.dot), s);
  return sortSiblings([...byDot.values()]);
}

/**
 * Merge two replica states of one key (dvvset sync). Commutative, associative, idempotent.
 * Walks both sibling lists in dot order at once (each holds a dot at most once).
 */
export function sync(a: SiblingSet, b: SiblingSet): SiblingSet {
  const sa = canonicalSiblings(a.siblings);
  const sb = canonicalSiblings(b.siblings);
  const out: Sibling[] = [];
  let i = 0;
  let j = 0;
  while (i < sa.length || j < sb.length) {
    const x = sa[i];
    const y = sb[j];
    const order = x === undefined ? 1 : y === undefined ? -1 : compareDots(x.dot, y.dot);
    if (order === 0) {
      // Both hold the dot: keep one (a fixed order decides if the contents differ).
      out.push(compareSiblingContent(x!, y!) >= 0 ? x! : y!);
      i++;
      j++;
    } else if (order < 0) {
      if (!covers(b.clock, x!.dot)) out.push(x!); // b never saw it: concurrent with everything b holds
      i++; // else: b saw it and superseded it
    } else {
      if (!covers(a.clock, y!.dot)) out.push(y!);
      j++;
    }
  }
  return { clock: merge(a.clock, b.clock), siblings: out };
}

/**
 * Dots both states hold with different content. With unique dots (dvv, lww) this is
 * corruption (a dot issued twice): sync would silently keep one of the two values, so callers
 * check this first and refuse the merge. (In the client-vclock teaching mode it is the flaw
 * the mode exists to show.)
 */
export function conflictingDots(a: SiblingSet, b: SiblingSet): Dot[] {
  if (a.siblings.length === 0 || b.siblings.length === 0) return [];
  const sa = canonicalSiblings(a.siblings);
  const sb = canonicalSiblings(b.siblings);
  const out: Dot[] = [];
  let j = 0;
  for (const s of sa) {
    while (j < sb.length && compareDots(sb[j]!.dot, s.dot) < 0) j++;
    const other = sb[j];
    if (other !== undefined && compareDots(other.dot, s.dot) === 0 && compareSiblingContent(s, other) !== 0) out.push(s.dot);
  }
  return out;
}

/** sync over any number of states (the empty set for none). */
export function syncAll(sets: Iterable<SiblingSet>): SiblingSet {
  let acc = emptySet();
  for (const s of sets) acc = sync(acc, s);
  return acc;
}

/** The causal context sent to clients (X-Mec-Vclock): the clock covering every sibling. */
export function contextOf(set: SiblingSet): VClock {
  return set.clock;
}

/** The siblings that are not tombstones. */
export function liveSiblings(set: SiblingSet): Sibling[] {
  return set.siblings.filter((s) => s.value !== null);
}

/** Has siblings and all are tombstones (the key reads as deleted). */
export function isTombstoneOnly(set: SiblingSet): boolean {
  return set.siblings.length > 0 && set.siblings.every((s) => s.value === null);
}

/** Same clock (counters and timestamps) and the same siblings (dots, values, content types, timestamps). */
export function setsEqual(a: SiblingSet, b: SiblingSet): boolean {
  if (!clocksEqual(a.clock, b.clock)) return false;
  if (a.siblings.length !== b.siblings.length) return false;
  const sa = sortSiblings(a.siblings);
  const sb = sortSiblings(b.siblings);
  for (let i = 0; i < sa.length; i++) {
    const x = sa[i];
    const y = sb[i];
    if (x === undefined || y === undefined || !siblingsEqual(x, y)) return false;
  }
  return true;
}

/** a already knows everything b knows: sync(a, b) equals a. */
export function setDescends(a: SiblingSet, b: SiblingSet): boolean {
  return setsEqual(sync(a, b), a);
}

/**
 * Check the invariants of a set: every sibling's dot is covered by the clock, no dot appears
 * twice, counters are positive integers. Returns a description of the first problem, or null.
 */
export function checkSet(set: SiblingSet): string | null {
  for (const [actor, e] of set.clock) {
    if (!Number.isInteger(e.counter) || e.counter < 1) return `clock entry ${actor} has counter ${e.counter}`;
    if (e.timestamp < 0n) return `clock entry ${actor} has a negative timestamp`;
  }
  // Strictly sorted siblings (every decoded set) cannot repeat a dot: no set of keys needed.
  const seen = canonicalSiblings(set.siblings) === set.siblings ? null : new Set<string>();
  for (const s of set.siblings) {
    if (!Number.isInteger(s.dot.counter) || s.dot.counter < 1) return `sibling ${dotKey(s.dot)} has a bad counter`;
    if (seen !== null) {
      const key = dotKey(s.dot);
      if (seen.has(key)) return `dot ${key} appears twice`;
      seen.add(key);
    }
    if (!covers(set.clock, s.dot)) return `dot ${dotKey(s.dot)} is not covered by the clock`;
  }
  return null;
}
