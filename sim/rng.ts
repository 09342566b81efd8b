// Seeded PRNG of the simulator (sfc32): every random choice of a run derives from the run
// seed through named sub-streams (`fork`), so adding a draw in one concern (say, the
// workload) does not shift the draws of another (the network). No Math.random here.
import { fnv1a32, mix32 } from "../src/core/hash.ts";

/** FNV-1a 32-bit hashes (labels of sub-streams, short trace digests): the core's, over UTF-8 bytes. */
export { fnv1a32 as fnv32, fnv1a32 as fnv32Bytes } from "../src/core/hash.ts";

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, salt = 0) {
    this.a = mix32(seed ^ 0x9e3779b9);
    this.b = mix32((seed / 0x100000000) ^ salt ^ 0x243f6a88);
    this.c = mix32(salt ^ 0xb7e15162);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** A new independent stream named by label (same seed + label = same stream). */
  fork(label: string): Rng {
    return new Rng(this.nextU32(), fnv1a32(label));
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
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
