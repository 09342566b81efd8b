// Strict standard base64 (RFC 4648 section 4: alphabet A-Z a-z 0-9 + /, '=' padding to a
// multiple of 4). Owns byte <-> text conversion for the X-Mec-Vclock header.
// Must not know: msgpack or clocks. Written here because the core may not use Buffer or atob.
//
// Strict means: no whitespace, no URL-safe alphabet, padding required, and the unused low
// bits of the last symbol must be zero, so every byte string has exactly one encoding and
// decode(encode(x)) and encode(decode(s)) are both identities.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const DECODE_TABLE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) t[ALPHABET.charCodeAt(i)] = i;
  return t;
})();

export function encodeBase64(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + "=";
  }
  return out;
}

export type Base64Result = { ok: true; bytes: Uint8Array } | { ok: false; message: string };

function symbol(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c < 128 ? (DECODE_TABLE[c] ?? -1) : -1;
}

/** Decode strict base64; never throws. The message names the first offending position. */
export function decodeBase64(text: string): Base64Result {
  if (text.length % 4 !== 0) return { ok: false, message: `length ${text.length} is not a multiple of 4` };
  let pad = 0;
  if (text.endsWith("==")) pad = 2;
  else if (text.endsWith("=")) pad = 1;
  const bodyLength = text.length - pad;
  for (let i = 0; i < bodyLength; i++) {
    if (symbol(text, i) < 0) {
      const ch = text.charAt(i);
      const what = ch === "=" ? "padding '=' before the end" : `character ${JSON.stringify(ch)}`;
      return { ok: false, message: `${what} at position ${i} is not standard base64` };
    }
  }
  const byteLength = (text.length / 4) * 3 - pad;
  const out = new Uint8Array(byteLength);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = symbol(text, i);
    const b = symbol(text, i + 1);
    const c = i + 2 < bodyLength ? symbol(text, i + 2) : 0;
    const d = i + 3 < bodyLength ? symbol(text, i + 3) : 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < byteLength) out[o++] = (n >> 16) & 255;
    if (o < byteLength) out[o++] = (n >> 8) & 255;
    if (o < byteLength) out[o++] = n & 255;
    if (i + 4 >= text.length && pad > 0) {
      const unused = pad === 2 ? n & 0xffff : n & 0xff;
      if (unused !== 0) return { ok: false, message: "non-zero bits in the final symbol before padding (not canonical base64)" };
    }
  }
  return { ok: true, bytes: out };
}
