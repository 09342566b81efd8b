// Stable, non-cryptographic 32-bit hashes for the core. Owns: the one hash the ring uses to
// place keys (so it must never change silently: test/core/ring pins known values) and a finalizer
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

/**
 * CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320) tables for slicing-by-8, built once at
 * load: table k (entries 256k..256k+255) is the CRC of a byte followed by k zero bytes, so
 * eight bytes fold into the CRC with eight lookups instead of eight dependent steps.
 */
const CRC32_TABLES = ((): Uint32Array => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!;
  return t;
})();

/**
 * crc32 is the CRC-32 of `bytes` (the one zlib, PNG and Ethernet use): crc32("123456789")
 * is 0xcbf43926. Detects every burst error of up to 32 bits, so any flipped byte or run of
 * up to four flipped bytes. Used for the checksums of stored records (replica/record.ts).
 */
export function crc32(bytes: Uint8Array): number {
  const t = CRC32_TABLES;
  let c = 0xffffffff;
  let i = 0;
  for (const end8 = bytes.length - 7; i < end8; i += 8) {
    const lo = (c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24))) >>> 0;
    const hi = bytes[i + 4]! | (bytes[i + 5]! << 8) | (bytes[i + 6]! << 16) | (bytes[i + 7]! << 24);
    c =
      t[1792 + (lo & 0xff)]! ^ t[1536 + ((lo >>> 8) & 0xff)]! ^ t[1280 + ((lo >>> 16) & 0xff)]! ^ t[1024 + (lo >>> 24)]! ^
      t[768 + (hi & 0xff)]! ^ t[512 + ((hi >>> 8) & 0xff)]! ^ t[256 + ((hi >>> 16) & 0xff)]! ^ t[(hi >>> 24) & 0xff]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
