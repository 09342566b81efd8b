// Reads a few string fields of a msgpack map without decoding the rest: the simulator only
// needs a message's type and request id, and the node decodes every message anyway, so a
// second full decode would cost the simulator a third of its time. Returns null on anything
// it does not understand (the caller falls back to a full decode).

const decoder = new TextDecoder();

/** Reads the string values of `wanted` keys from a top-level msgpack map. */
export function peekStrings(bytes: Uint8Array, wanted: readonly string[]): Map<string, string> | null {
  let pos = 0;
  const len = bytes.length;
  const u8 = (): number => {
    if (pos >= len) throw new RangeError("truncated");
    return bytes[pos++]!;
  };
  const u16 = (): number => (u8() << 8) | u8();
  const u32 = (): number => ((u8() << 24) >>> 0) + (u8() << 16) + (u8() << 8) + u8();
  // (pos += u8() would read pos before u8 moves it)
  const advance = (n: number): void => {
    pos += n;
  };
  const strLen = (b: number): number | null => {
    if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
    if (b === 0xd9) return u8();
    if (b === 0xda) return u16();
    if (b === 0xdb) return u32();
    return null;
  };
  const skip = (): void => {
    const b = u8();
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return;
    if (b >= 0x80 && b <= 0x8f) return skipN((b & 0x0f) * 2);
    if (b >= 0x90 && b <= 0x9f) return skipN(b & 0x0f);
    const s = strLen(b);
    if (s !== null) {
      pos += s;
      return;
    }
    switch (b) {
      case 0xc4:
        advance(u8());
        return;
      case 0xc5:
        advance(u16());
        return;
      case 0xc6:
        advance(u32());
        return;
      case 0xc7:
        advance(u8() + 1);
        return;
      case 0xc8:
        advance(u16() + 1);
        return;
      case 0xc9:
        advance(u32() + 1);
        return;
      case 0xca:
        pos += 4;
        return;
      case 0xcb:
        pos += 8;
        return;
      case 0xcc:
      case 0xd0:
        pos += 1;
        return;
      case 0xcd:
      case 0xd1:
        pos += 2;
        return;
      case 0xce:
      case 0xd2:
        pos += 4;
        return;
      case 0xcf:
      case 0xd3:
        pos += 8;
        return;
      case 0xd4:
        pos += 2;
        return;
      case 0xd5:
        pos += 3;
        return;
      case 0xd6:
        pos += 5;
        return;
      case 0xd7:
        pos += 9;
        return;
      case 0xd8:
        pos += 17;
        return;
      case 0xdc:
        return skipN(u16());
      case 0xdd:
        return skipN(u32());
      case 0xde:
        return skipN(u16() * 2);
      case 0xdf:
        return skipN(u32() * 2);
      default:
        throw new RangeError(`bad msgpack byte ${b}`);
    }
  };
  const skipN = (n: number): void => {
    for (let i = 0; i < n; i++) skip();
  };
  try {
    const h = u8();
    const entries = h >= 0x80 && h <= 0x8f ? h & 0x0f : h === 0xde ? u16() : h === 0xdf ? u32() : -1;
    if (entries < 0) return null;
    const out = new Map<string, string>();
    for (let i = 0; i < entries && out.size < wanted.length; i++) {
      const kl = strLen(u8());
      if (kl === null) return null;
      const key = decoder.decode(bytes.subarray(pos, pos + kl));
      pos += kl;
      if (wanted.includes(key)) {
        const vl = strLen(u8());
        if (vl === null) return null;
        out.set(key, decoder.decode(bytes.subarray(pos, pos + vl)));
        pos += vl;
      } else skip();
      if (pos > len) return null;
    }
    return out;
  } catch {
    return null;
  }
}
