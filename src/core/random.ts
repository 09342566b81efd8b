// The one seeded pseudo-random generator of the project: seedrandom's alea behind a small API.
// Owns: every seeded draw (a node's incarnation, boot nonce and anti-entropy peer choice; every
// choice of the simulator, through named sub-streams made by `fork`). Must not know: ambient
// randomness (Math.random, crypto) or wall time. Its state is plain data (`state()`), kept as
// node state, so a generator restored from it draws on exactly as the original would.

import alea from "seedrandom/lib/alea.js";
import { fnv1a32 } from "./hash.ts";

/** The generator's whole state (alea's): restoring it resumes the same sequence. */
export interface RngState {
  readonly c: number;
  readonly s0: number;
  readonly s1: number;
  readonly s2: number;
}

export class Rng {
  private gen: ReturnType<typeof alea>;

  /** A generator seeded by the words (numbers print exactly, so fractional times mix in fully). */
  constructor(...seedWords: readonly number[]) {
    this.gen = alea(seedWords.join(" "), { state: true });
  }

  /** A generator that continues from a saved state. */
  static restore(state: RngState): Rng {
    const rng = new Rng();
    rng.gen = alea("", { state: { ...state } });
    return rng;
  }

  /** A copy of the state, to save and restore. */
  state(): RngState {
    return this.gen.state();
  }

  /** A new independent stream named by label (same parent state + label = same stream). */
  fork(label: string): Rng {
    return new Rng(this.nextU32(), fnv1a32(label));
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    return this.gen.int32() >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.gen();
  }

  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    if (!(Number.isInteger(maxExclusive) && maxExclusive > 0)) throw new RangeError(`nextInt: bad bound ${maxExclusive}`);
    return Math.floor(this.next() * maxExclusive);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.nextInt(items.length)]!;
  }

  /** Picks by weight: entries [item, weight]. */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of entries) total += w;
    let x = this.next() * total;
    for (const [item, w] of entries) {
      x -= w;
      if (x < 0) return item;
    }
    return entries[entries.length - 1]![0];
  }
}

/** 8 lowercase hex digits of a 32-bit unsigned integer. */
export function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, "0");
}
