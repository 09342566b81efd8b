// Stable, non-cryptographic 32-bit hashes for the core. Owns: the one hash the ring uses to
// place keys (so it must never change silently: test/ring pins known values) and a finalizer
// to spread its bits. Must not know: node:crypto or Buffer (the core stays pure and runs the
// same in the simulator and in production); strings are hashed as their UTF-8 bytes via
// TextEncoder, which is pure and available everywhere.

const FNV_OFFSET_BASIS_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

const utf8 = new TextEncoder();

/**
 * fnv1a32 is the 32-bit FNV-1a hash of `input` (a string is hashed as its UTF-8 bytes).
 * Returns an unsigned integer in [0, 2^32). Fast and stable, but its low bits avalanche
 * poorly for short inputs: pass the result through `mix32` before using it to place things.
 */
export function fnv1a32(input: string | Uint8Array): number {
  const bytes = typeof input === "string" ? utf8.encode(input) : input;
  let h = FNV_OFFSET_BASIS_32;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    // Math.imul keeps the multiplication in 32-bit integer arithmetic (no float rounding).
    h = Math.imul(h, FNV_PRIME_32);
  }
  return h >>> 0;
}

/**
 * mix32 is murmur3's fmix32 finalizer: a bijection on 32-bit words in which every input
 * bit affects every output bit with probability about 1/2. Returns an unsigned integer.
 */
export function mix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
