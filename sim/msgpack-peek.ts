// Reads a few string fields of a msgpack map without decoding the rest: the simulator only
// needs a message's type and request id, and the node decodes every message anyway, so a
// second full decode would cost the simulator much of its time. Keys are compared as bytes
// and values decoded only when wanted. Returns null on anything it does not understand (the
// caller falls back to a full decode). Written without closures: it runs once per message.

let buf: Uint8Array = new Uint8Array(0);
let pos = 0;

class Truncated extends Error {}

function u8(): number {
  if (pos >= buf.length) throw new Truncated();
  return buf[pos++]!;
}

function u16(): number {
  const hi = u8();
  return (hi << 8) | u8();
}

function u32(): number {
  const a = u8();
  const b = u8();
  const c = u8();
  return a * 0x1000000 + ((b << 16) | (c << 8) | u8());
}

/** Length of a string whose header byte is b (null if b is not a string header). */
function strLen(b: number): number | null {
  if (b >= 0xa0 && b <= 0xbf) return b & 0x1f;
  if (b === 0xd9) return u8();
  if (b === 0xda) return u16();
  if (b === 0xdb) return u32();
  return null;
}

function skipN(n: number): void {
  for (let i = 0; i < n; i++) skip();
}

function skip(): void {
  const b = u8();
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return;
  if (b >= 0x80 && b <= 0x8f) return skipN((b & 0x0f) * 2);
  if (b >= 0x90 && b <= 0x9f) return skipN(b & 0x0f);
  const s = strLen(b);
  if (s !== null) {
    pos += s;
    return;
  }
  let n: number;
  switch (b) {
    case 0xc4:
      n = u8();
      break;
    case 0xc5:
      n = u16();
      break;
    case 0xc6:
      n = u32();
      break;
    case 0xc7:
      n = u8() + 1;
      break;
    case 0xc8:
      n = u16() + 1;
      break;
    case 0xc9:
      n = u32() + 1;
      break;
    case 0xcc:
    case 0xd0:
      n = 1;
      break;
    case 0xcd:
    case 0xd1:
    case 0xd4:
      n = 2;
      break;
    case 0xd5:
      n = 3;
      break;
    case 0xca:
    case 0xce:
    case 0xd2:
      n = 4;
      break;
    case 0xd6:
      n = 5;
      break;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      n = 8;
      break;
    case 0xd7:
      n = 9;
      break;
    case 0xd8:
      n = 17;
      break;
    case 0xdc:
      return skipN(u16());
    case 0xdd:
      return skipN(u32());
    case 0xde:
      return skipN(u16() * 2);
    case 0xdf:
      return skipN(u32() * 2);
    default:
      throw new Truncated();
  }
  pos += n;
}

const utf8 = new TextDecoder();

function readString(len: number): string {
  const end = pos + len;
  if (end > buf.length) throw new Truncated();
  let ascii = true;
  for (let i = pos; i < end; i++) if (buf[i]! > 0x7f) ascii = false;
  let s: string;
  if (ascii && len < 64) {
    s = "";
    for (let i = pos; i < end; i++) s += String.fromCharCode(buf[i]!);
  } else s = utf8.decode(buf.subarray(pos, end));
  pos = end;
  return s;
}

const encoder = new TextEncoder();

/** Reads a map header at pos: its entry count, or -1 when the value there is not a map. */
function mapHeader(): number {
  const h = u8();
  return h >= 0x80 && h <= 0x8f ? h & 0x0f : h === 0xde ? u16() : h === 0xdf ? u32() : -1;
}

/** Reads the string values of `wanted` keys from a top-level msgpack map; missing keys are absent. */
export function peekStrings(bytes: Uint8Array, wanted: readonly string[]): Map<string, string> | null {
  const keys = wanted.map((w) => encoder.encode(w));
  buf = bytes;
  pos = 0;
  try {
    const entries = mapHeader();
    if (entries < 0) return null;
    const out = new Map<string, string>();
    for (let i = 0; i < entries && out.size < keys.length; i++) {
      const kl = strLen(u8());
      if (kl === null) return null;
      const found = keys.findIndex((k) => k.length === kl && k.every((c, j) => buf[pos + j] === c));
      pos += kl;
      if (found >= 0) {
        const vl = strLen(u8());
        if (vl === null) return null;
        out.set(wanted[found]!, readString(vl));
      } else skip();
      if (pos > buf.length) return null;
    }
    return out;
  } catch (e) {
    if (e instanceof Truncated || e instanceof RangeError) return null;
    throw e;
  } finally {
    buf = new Uint8Array(0);
  }
}

const TYPE = encoder.encode("type");
const REQ_ID = encoder.encode("reqId");

function keyIs(k: Uint8Array, len: number): boolean {
  if (k.length !== len || pos + len > buf.length) return false;
  for (let j = 0; j < len; j++) if (buf[pos + j] !== k[j]) return false;
  return true;
}

/** The fast path for peer messages: type and reqId (null reqId when absent); null if unreadable. */
export function peekTypeAndReqId(bytes: Uint8Array): { type: string; reqId: string | null } | null {
  buf = bytes;
  pos = 0;
  try {
    const entries = mapHeader();
    if (entries < 0) return null;
    let type: string | null = null;
    let reqId: string | null = null;
    for (let i = 0; i < entries && (type === null || reqId === null); i++) {
      const kl = strLen(u8());
      if (kl === null) return null;
      const isType = keyIs(TYPE, kl);
      const isReq = !isType && keyIs(REQ_ID, kl);
      pos += kl;
      if (isType || isReq) {
        const vl = strLen(u8());
        if (vl === null) return null;
        const v = readString(vl);
        if (isType) type = v;
        else reqId = v;
      } else skip();
    }
    return type === null ? null : { type, reqId };
  } catch (e) {
    if (e instanceof Truncated) return null;
    throw e;
  } finally {
    buf = new Uint8Array(0);
  }
}
