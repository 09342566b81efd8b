// Version vectors (vector clocks with per-actor timestamps): compare, descends, merge,
// increment. Owns the algebra of VClock values only.
// Must not know: wire formats (codec.ts, wire.ts), siblings (dvvset.ts), wall time (the
// caller passes every timestamp in; the core never reads a clock).
//
// Theory of operation: a clock maps actor -> { counter, timestamp }. Causality is decided by
// the counters alone (a missing actor counts as 0); timestamps only ride along for
// Last-Modified / X-Mec-Timestamp and the LWW teaching mode. The operations that build a new
// clock (merge, increment) return it sorted by actor (plain UTF-16 code-unit order), so two
// equal clocks iterate identically. Clocks handed to us (e.g. decoded from a foreign header)
// may be in any order; every function here is order-insensitive.
import type { Actor, ClockEntry, Dot, Ordering, VClock } from "./types.ts";

/** The clock that has seen nothing. */
export function emptyClock(): VClock {
  return new Map<Actor, ClockEntry>();
}

/** Deterministic actor order: UTF-16 code units (what `<` does on strings). */
export function compareActors(a: Actor, b: Actor): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The counter of `actor` in `clock`, 0 when absent. */
export function counterOf(clock: VClock, actor: Actor): number {
  return clock.get(actor)?.counter ?? 0;
}

/** a >= b pointwise on counters: a has seen every event b has seen. */
export function descends(a: VClock, b: VClock): boolean {
  for (const [actor, entry] of b) {
    if (counterOf(a, actor) < entry.counter) return false;
  }
  return true;
}

/** Where a stands relative to b, on counters only (timestamps never decide causality). */
export function compare(a: VClock, b: VClock): Ordering {
  const aGeB = descends(a, b);
  const bGeA = descends(b, a);
  if (aGeB && bGeA) return "equal";
  if (aGeB) return "after";
  if (bGeA) return "before";
  return "concurrent";
}

/** A copy of the clock with its actors in canonical (sorted) order. */
export function sortClock(clock: VClock): VClock {
  const actors = [...clock.keys()].sort(compareActors);
  const out = new Map<Actor, ClockEntry>();
  for (const actor of actors) {
    const entry = clock.get(actor);
    if (entry !== undefined) out.set(actor, entry);
  }
  return out;
}

/** Same counters and timestamps for the same actors; iteration order is ignored. */
export function clocksEqual(a: VClock, b: VClock): boolean {
  if (a.size !== b.size) return false;
  for (const [actor, ea] of a) {
    const eb = b.get(actor);
    if (eb === undefined || eb.counter !== ea.counter || eb.timestamp !== ea.timestamp) return false;
  }
  return true;
}

/** Of two entries of one actor: the larger counter; on equal counters the larger timestamp. */
function maxEntry(x: ClockEntry, y: ClockEntry): ClockEntry {
  if (x.counter !== y.counter) return x.counter > y.counter ? x : y;
  return x.timestamp >= y.timestamp ? x : y;
}

/**
 * Least upper bound of two clocks: pointwise max counter (on equal counters the larger
 * timestamp, so merge stays commutative), sorted by actor.
 */
export function merge(a: VClock, b: VClock): VClock {
  const out = new Map<Actor, ClockEntry>(a);
  for (const [actor, eb] of b) {
    const ea = out.get(actor);
    out.set(actor, ea === undefined ? eb : maxEntry(ea, eb));
  }
  return sortClock(out);
}

/** merge over any number of clocks (the empty clock for none). */
export function mergeAll(clocks: Iterable<VClock>): VClock {
  let acc = emptyClock();
  for (const c of clocks) acc = merge(acc, c);
  return acc;
}

/** One new event of `actor` at `timestampNs`: its counter + 1, sorted result. */
export function increment(clock: VClock, actor: Actor, timestampNs: bigint): VClock {
  return setEntry(clock, actor, { counter: counterOf(clock, actor) + 1, timestamp: timestampNs });
}

/** A sorted copy of `clock` with `actor`'s entry replaced. */
export function setEntry(clock: VClock, actor: Actor, entry: ClockEntry): VClock {
  const out = new Map<Actor, ClockEntry>(clock);
  out.set(actor, entry);
  return sortClock(out);
}

/** The clock has seen the event named by `dot`. */
export function covers(clock: VClock, dot: Dot): boolean {
  return counterOf(clock, dot.actor) >= dot.counter;
}

/** Total order on dots: by actor, then counter. */
export function compareDots(a: Dot, b: Dot): number {
  return compareActors(a.actor, b.actor) || a.counter - b.counter;
}

export function dotsEqual(a: Dot, b: Dot): boolean {
  return a.actor === b.actor && a.counter === b.counter;
}

/** "actor:counter", for logs and map keys. */
export function dotKey(dot: Dot): string {
  return `${dot.actor}:${dot.counter}`;
}

/**
 * Milliseconds (as the core receives time, possibly fractional) to integer nanoseconds.
 * Works from the shortest decimal that round-trips the double (Number#toString), so
 * 1700000000000.5 -> 1700000000000500000n and 1700000000000.1 -> 1700000000000100000n,
 * with no float multiplication (no overflow or rounding); integer input (e.g. 2^60) is
 * converted exactly. Digits below a
 * nanosecond are rounded half up. Throws RangeError for negative, NaN or infinite input.
 */
export function nanosFromMillis(ms: number): bigint {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`nanosFromMillis: not a non-negative finite number: ${ms}`);
  // An integer double (always the case above 2^52) is exact as it is.
  if (Number.isInteger(ms)) return BigInt(ms) * 1_000_000n;
  const text = String(ms); // e.g. "0.5", "1700000000000.5", "5e-7"
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(text);
  if (m === null) throw new RangeError(`nanosFromMillis: unexpected number form ${text}`);
  const intPart = m[1] ?? "0";
  const fracPart = m[2] ?? "";
  const exp = Number(m[3] ?? "0") + 6; // ms -> ns is a decimal shift of 6
  // value = digits * 10^(exp - fracPart.length)
  const digits = BigInt(intPart + fracPart);
  const shift = exp - fracPart.length;
  if (shift >= 0) return digits * 10n ** BigInt(shift);
  const div = 10n ** BigInt(-shift);
  const q = digits / div;
  const r = digits % div;
  return r * 2n >= div ? q + 1n : q;
}
