// The node's seeded pseudo-random generator (sfc32, from PractRand). Owns: every random draw
// the core makes (incarnation, boot nonce, anti-entropy peer choice). Must not know: ambient
// randomness (Math.random, crypto) or wall time; its state is node state, so a node is
// deterministic given its seed and its inputs.

import { mix32 } from "./hash.ts";

/** Mixes 32-bit words into one well-spread 32-bit seed (murmur3 finalizer per word). */
function mixSeed(...words: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const word of words) {
    let k = word >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) >>> 0;
  }
  return mix32(h);
}

/** The two 32-bit halves of a double's IEEE-754 bits (so fractional simulated times mix in fully). */
export function doubleWords(x: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  return [view.getUint32(0), view.getUint32(4)];
}

/** sfc32: small, fast, passes PractRand; plenty for choices that only need to be well spread. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seedWords: readonly number[]) {
    this.a = mixSeed(1, ...seedWords);
    this.b = mixSeed(2, ...seedWords);
    this.c = mixSeed(3, ...seedWords);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.nextU32(); // warm up
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform integer in [0, maxExclusive). */
  nextInt(maxExclusive: number): number {
    if (!(Number.isInteger(maxExclusive) && maxExclusive > 0)) throw new RangeError(`nextInt: bad bound ${maxExclusive}`);
    return Math.floor((this.nextU32() / 0x1_0000_0000) * maxExclusive);
  }

  /** A uniformly chosen element; undefined for an empty array. */
  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.nextInt(items.length)];
  }
}

/** 8 lowercase hex digits of a 32-bit unsigned integer. */
export function hex32(x: number): string {
  return (x >>> 0).toString(16).padStart(8, "0");
}
