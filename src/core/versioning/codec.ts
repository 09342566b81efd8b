// The X-Mec-Vclock header codec: base64(msgpack(map actor -> {"Counter": uint,
// "Timestamp": uint64 ns})), byte-compatible with the original MecDB (Go, 2014), plus the
// JSON form printed by `mec vclock`. Owns parsing and printing of clocks as text.
// Must not know: siblings, HTTP, storage. No Buffer, atob or msgpack library here: the
// header is small and hostile input, so it gets its own strict, bounded reader.
//
// Wire format (what encodeVclock emits):
//   map (fixmap / map16 / map32) of actors in canonical (sorted) order unless asked to keep
//   the clock's own order; each actor a msgpack str (fixstr / str8 / str16); each value a
//   2-entry map "Counter" -> smallest uint encoding, "Timestamp" -> always uint64 (0xcf),
//   as the README samples show. Base64 is standard with padding.
//
// Decoding accepts any msgpack string, map and integer encodings (including the old-spec raw
// types the Go encoder used, signed integer types holding non-negative values, and either
// key order inside an entry), and rejects everything else with a typed error. It never
// throws and runs in time linear in the header length.
//
// Limits (a header past them is refused with code "too-large"):
//   VCLOCK_HEADER_MAX_BYTES = 8192   characters of header text (all valid headers are ASCII)
//   VCLOCK_ACTORS_MAX       = 1024   actors per clock
//   VCLOCK_ACTOR_MAX_BYTES  = 255    bytes of UTF-8 per actor name
// Each actor costs about 30 + its name's length in bytes (x 4/3 in base64), so the header
// limit bites first: about 190 actors with short names fit in 8192 characters. The actor
// limit still bounds decodeVclockBytes and clockFromJson on their own.
// Counter: a positive integer <= 2^32-1. Timestamp: any uint64 (nanoseconds since the epoch).
// Leading/trailing spaces and tabs (HTTP optional whitespace) are ignored.
import type { Actor, ClockEntry, VClock } from "./types.ts";
import { decodeBase64, encodeBase64 } from "./base64.ts";
import { sortClock } from "./vclock.ts";

export const VCLOCK_HEADER_MAX_BYTES = 8192;
export const VCLOCK_ACTORS_MAX = 1024;
export const VCLOCK_ACTOR_MAX_BYTES = 255;
export const VCLOCK_COUNTER_MAX = 0xffff_ffff;
export const VCLOCK_TIMESTAMP_MAX = 0xffff_ffff_ffff_ffffn;

export type VclockErrorCode =
  | "empty"
  | "too-large"
  | "bad-base64"
  | "not-msgpack"
  | "wrong-shape"
  | "empty-actor"
  | "bad-counter"
  | "bad-timestamp"
  | "duplicate-actor";

export interface VclockError {
  readonly code: VclockErrorCode;
  readonly message: string;
}

export type VclockDecodeResult = { ok: true; clock: VClock } | { ok: false; error: VclockError };

/** "code: message", the form used in HTTP 400 bodies and CLI errors. */
export function formatVclockError(error: VclockError): string {
  return `${error.code}: ${error.message}`;
}

const textEncoder = new TextEncoder();

/** Has a lone UTF-16 surrogate (not representable in UTF-8, so not a valid actor). */
function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** JSON-quoted, cut to 60 characters, for error messages. */
function quote(s: string): string {
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

// ---------------------------------------------------------------------------------------
// Encoding

class ByteWriter {
  private buf = new Uint8Array(64);
  private len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
  }
  uint(value: number, bytes: number): void {
    for (let i = bytes - 1; i >= 0; i--) this.byte(Math.floor(value / 2 ** (8 * i)) & 0xff);
  }
  uint64(value: bigint): void {
    for (let i = 7n; i >= 0n; i--) this.byte(Number((value >> (8n * i)) & 0xffn));
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeStr(w: ByteWriter, s: string): void {
  const b = textEncoder.encode(s);
  if (b.length < 32) w.byte(0xa0 | b.length);
  else if (b.length < 0x100) {
    w.byte(0xd9);
    w.uint(b.length, 1);
  } else if (b.length < 0x10000) {
    w.byte(0xda);
    w.uint(b.length, 2);
  } else {
    w.byte(0xdb);
    w.uint(b.length, 4);
  }
  w.bytes(b);
}

function writeMapHeader(w: ByteWriter, n: number): void {
  if (n < 16) w.byte(0x80 | n);
  else if (n < 0x10000) {
    w.byte(0xde);
    w.uint(n, 2);
  } else {
    w.byte(0xdf);
    w.uint(n, 4);
  }
}

function writeUintSmallest(w: ByteWriter, n: number): void {
  if (n < 0x80) w.byte(n);
  else if (n < 0x100) {
    w.byte(0xcc);
    w.uint(n, 1);
  } else if (n < 0x10000) {
    w.byte(0xcd);
    w.uint(n, 2);
  } else {
    w.byte(0xce);
    w.uint(n, 4);
  }
}

/** The msgpack bytes of a clock (before base64). Throws RangeError for a clock outside the limits. */
export function encodeVclockBytes(clock: VClock, options: { canonical?: boolean } = {}): Uint8Array {
  const canonical = options.canonical ?? true;
  const ordered = canonical ? sortClock(clock) : clock;
  if (ordered.size > VCLOCK_ACTORS_MAX) throw new RangeError(`encodeVclock: ${ordered.size} actors, more than ${VCLOCK_ACTORS_MAX}`);
  const w = new ByteWriter();
  writeMapHeader(w, ordered.size);
  for (const [actor, entry] of ordered) {
    const actorBytes = textEncoder.encode(actor).length;
    if (hasLoneSurrogate(actor)) throw new RangeError(`encodeVclock: actor ${quote(actor)} is not well-formed UTF-16`);
    if (actorBytes === 0 || actorBytes > VCLOCK_ACTOR_MAX_BYTES) {
      throw new RangeError(`encodeVclock: actor ${quote(actor)} has ${actorBytes} bytes (1..${VCLOCK_ACTOR_MAX_BYTES})`);
    }
    if (!Number.isInteger(entry.counter) || entry.counter < 1 || entry.counter > VCLOCK_COUNTER_MAX) {
      throw new RangeError(`encodeVclock: actor ${quote(actor)} has counter ${entry.counter}`);
    }
    if (entry.timestamp < 0n || entry.timestamp > VCLOCK_TIMESTAMP_MAX) {
      throw new RangeError(`encodeVclock: actor ${quote(actor)} has timestamp ${entry.timestamp} outside uint64`);
    }
    writeStr(w, actor);
    writeMapHeader(w, 2);
    writeStr(w, "Counter");
    writeUintSmallest(w, entry.counter);
    writeStr(w, "Timestamp");
    w.byte(0xcf);
    w.uint64(entry.timestamp);
  }
  return w.result();
}

/**
 * The X-Mec-Vclock header of a clock. canonical (the default, what the server emits) sorts
 * the actors so equal clocks give equal headers; canonical: false keeps the clock's own order
 * (a decoded foreign header re-encodes byte for byte). Throws RangeError outside the limits.
 */
export function encodeVclock(clock: VClock, options: { canonical?: boolean } = {}): string {
  return encodeBase64(encodeVclockBytes(clock, options));
}

// ---------------------------------------------------------------------------------------
// Decoding

class DecodeFailure {
  constructor(readonly error: VclockError) {}
}

function fail(code: VclockErrorCode, message: string): never {
  throw new DecodeFailure({ code, message });
}

type IntRead = { kind: "int"; value: bigint } | { kind: "other"; what: string };

/** Bounded msgpack reader over the header bytes. Throws only DecodeFailure. */
class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  get remaining(): number {
    return this.b.length - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) fail("not-msgpack", `truncated: ${what} at byte ${this.pos} needs ${n} bytes, ${this.remaining} left`);
  }

  private u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++] ?? 0;
  }

  private uintN(n: number, what: string): number {
    this.need(n, what);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + (this.b[this.pos++] ?? 0);
    return v;
  }

  private bigN(n: number, what: string, signed: boolean): bigint {
    this.need(n, what);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.b[this.pos++] ?? 0);
    if (signed && v >= 1n << BigInt(8 * n - 1)) v -= 1n << BigInt(8 * n);
    return v;
  }

  /** Peek the type byte; 0xc1 is never valid msgpack. */
  private typeByte(what: string): number {
    this.need(1, what);
    const t = this.b[this.pos] ?? 0;
    if (t === 0xc1) fail("not-msgpack", `byte 0xc1 at ${this.pos} is not a msgpack type`);
    return t;
  }

  readMapHeader(what: string): number {
    const t = this.typeByte(what);
    if (t >= 0x80 && t <= 0x8f) {
      this.pos++;
      return t & 0x0f;
    }
    if (t === 0xde) {
      this.pos++;
      return this.uintN(2, `${what} length`);
    }
    if (t === 0xdf) {
      this.pos++;
      return this.uintN(4, `${what} length`);
    }
    return fail("wrong-shape", `${what} is ${typeName(t)}, expected a map`);
  }

  /** A msgpack str (or old-spec raw, which shares the encodings); returns its bytes. */
  readStrBytes(what: string, maxBytes: number): Uint8Array {
    const t = this.typeByte(what);
    let len: number;
    if (t >= 0xa0 && t <= 0xbf) {
      this.pos++;
      len = t & 0x1f;
    } else if (t === 0xd9) {
      this.pos++;
      len = this.uintN(1, `${what} length`);
    } else if (t === 0xda) {
      this.pos++;
      len = this.uintN(2, `${what} length`);
    } else if (t === 0xdb) {
      this.pos++;
      len = this.uintN(4, `${what} length`);
    } else {
      return fail("wrong-shape", `${what} is ${typeName(t)}, expected a string`);
    }
    if (len > maxBytes) fail("too-large", `${what} has ${len} bytes, more than ${maxBytes}`);
    this.need(len, what);
    const out = this.b.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  /** Any msgpack integer as a bigint, or the name of the other type found (consumed only if an int). */
  readInt(what: string): IntRead {
    const t = this.typeByte(what);
    if (t <= 0x7f) {
      this.pos++;
      return { kind: "int", value: BigInt(t) };
    }
    if (t >= 0xe0) {
      this.pos++;
      return { kind: "int", value: BigInt(t - 0x100) };
    }
    const sizes: Record<number, [number, boolean]> = {
      0xcc: [1, false], 0xcd: [2, false], 0xce: [4, false], 0xcf: [8, false],
      0xd0: [1, true], 0xd1: [2, true], 0xd2: [4, true], 0xd3: [8, true],
    };
    const size = sizes[t];
    if (size === undefined) return { kind: "other", what: typeName(t) };
    this.pos++;
    return { kind: "int", value: this.bigN(size[0], what, size[1]) };
  }
}

function typeName(t: number): string {
  if (t <= 0x7f || t >= 0xe0 || (t >= 0xcc && t <= 0xd3)) return "an integer";
  if (t >= 0x80 && t <= 0x8f) return "a map";
  if (t >= 0x90 && t <= 0x9f) return "an array";
  if (t >= 0xa0 && t <= 0xbf) return "a string";
  switch (t) {
    case 0xc0: return "nil";
    case 0xc2: case 0xc3: return "a boolean";
    case 0xc4: case 0xc5: case 0xc6: return "binary data";
    case 0xc7: case 0xc8: case 0xc9: case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: return "an extension value";
    case 0xca: case 0xcb: return "a float";
    case 0xd9: case 0xda: case 0xdb: return "a string";
    case 0xdc: case 0xdd: return "an array";
    case 0xde: case 0xdf: return "a map";
    default: return `type 0x${t.toString(16)}`;
  }
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    return fail("wrong-shape", `${what} is not valid UTF-8`);
  }
}

function readEntry(r: Reader, actor: string): ClockEntry {
  const label = `entry of actor ${quote(actor)}`;
  const n = r.readMapHeader(label);
  if (n !== 2) fail("wrong-shape", `${label} has ${n} keys, expected exactly Counter and Timestamp`);
  let counter: number | undefined;
  let timestamp: bigint | undefined;
  for (let i = 0; i < 2; i++) {
    const key = decodeUtf8(r.readStrBytes(`key in ${label}`, Number.MAX_SAFE_INTEGER), `key in ${label}`);
    if (key === "Counter") {
      if (counter !== undefined) fail("wrong-shape", `${label} has Counter twice`);
      const v = r.readInt(`Counter of ${quote(actor)}`);
      if (v.kind !== "int") fail("bad-counter", `Counter of actor ${quote(actor)} is ${v.what}, expected a positive integer`);
      if (v.value < 1n || v.value > BigInt(VCLOCK_COUNTER_MAX)) {
        fail("bad-counter", `Counter of actor ${quote(actor)} is ${v.value}, expected 1..${VCLOCK_COUNTER_MAX}`);
      }
      counter = Number(v.value);
    } else if (key === "Timestamp") {
      if (timestamp !== undefined) fail("wrong-shape", `${label} has Timestamp twice`);
      const v = r.readInt(`Timestamp of ${quote(actor)}`);
      if (v.kind !== "int") fail("bad-timestamp", `Timestamp of actor ${quote(actor)} is ${v.what}, expected a uint64`);
      if (v.value < 0n) fail("bad-timestamp", `Timestamp of actor ${quote(actor)} is negative (${v.value})`);
      timestamp = v.value;
    } else {
      fail("wrong-shape", `${label} has unexpected key ${quote(key)} (expected Counter and Timestamp)`);
    }
  }
  if (counter === undefined || timestamp === undefined) return fail("wrong-shape", `${label} lacks Counter or Timestamp`);
  return { counter, timestamp };
}

/** Decode msgpack bytes of a clock (after base64). Never throws. */
export function decodeVclockBytes(bytes: Uint8Array): VclockDecodeResult {
  try {
    const r = new Reader(bytes);
    const n = r.readMapHeader("the clock");
    if (n > VCLOCK_ACTORS_MAX) fail("too-large", `${n} actors, more than ${VCLOCK_ACTORS_MAX}`);
    // Every actor needs at least 1 + 1 + 1 + 8 + 1 + 9 + 1 + 10 bytes; a length beyond what
    // is left is a truncated message, caught by the reads below within O(bytes) work.
    const clock = new Map<Actor, ClockEntry>();
    for (let i = 0; i < n; i++) {
      const actorBytes = r.readStrBytes(`actor #${i + 1}`, VCLOCK_ACTOR_MAX_BYTES);
      if (actorBytes.length === 0) fail("empty-actor", `actor #${i + 1} is the empty string`);
      const actor = decodeUtf8(actorBytes, `actor #${i + 1}`);
      if (clock.has(actor)) fail("duplicate-actor", `actor ${quote(actor)} appears twice`);
      clock.set(actor, readEntry(r, actor));
    }
    if (r.remaining > 0) fail("not-msgpack", `${r.remaining} trailing bytes after the clock`);
    return { ok: true, clock };
  } catch (e) {
    if (e instanceof DecodeFailure) return { ok: false, error: e.error };
    // Not reachable by design; kept so the contract "never throws" holds even for a bug.
    return { ok: false, error: { code: "not-msgpack", message: `undecodable: ${String(e)}` } };
  }
}

/** Decode an X-Mec-Vclock header. Never throws; the clock keeps the header's actor order. */
export function decodeVclock(header: string): VclockDecodeResult {
  if (typeof header !== "string") return { ok: false, error: { code: "wrong-shape", message: "header is not a string" } };
  if (header.length > VCLOCK_HEADER_MAX_BYTES + 256) {
    return { ok: false, error: { code: "too-large", message: `header has ${header.length} characters, more than ${VCLOCK_HEADER_MAX_BYTES}` } };
  }
  const text = header.replace(/^[ \t]+|[ \t]+$/g, "");
  if (text.length === 0) return { ok: false, error: { code: "empty", message: "the header is empty" } };
  if (text.length > VCLOCK_HEADER_MAX_BYTES) {
    return { ok: false, error: { code: "too-large", message: `header has ${text.length} characters, more than ${VCLOCK_HEADER_MAX_BYTES}` } };
  }
  const b = decodeBase64(text);
  if (!b.ok) return { ok: false, error: { code: "bad-base64", message: b.message } };
  return decodeVclockBytes(b.bytes);
}

// ---------------------------------------------------------------------------------------
// JSON form: { actor: { counter: 1, timestamp: "1390002563231255151" } }, timestamps as
// decimal strings because they exceed 2^53.

export type ClockJson = Record<string, { counter: number; timestamp: string }>;

/**
 * The JSON form of a clock, in the clock's order. (A JS object lists integer-like keys such
 * as "7" first whatever the insertion order; use clockToJsonText to print in exact order.)
 */
export function clockToJson(clock: VClock): ClockJson {
  return Object.fromEntries(
    [...clock].map(([actor, e]) => [actor, { counter: e.counter, timestamp: e.timestamp.toString() }]),
  );
}

/** One-line JSON text of a clock in exactly the clock's actor order. */
export function clockToJsonText(clock: VClock): string {
  const parts = [...clock].map(
    ([actor, e]) => `${JSON.stringify(actor)}:{"counter":${e.counter},"timestamp":"${e.timestamp.toString()}"}`,
  );
  return `{${parts.join(",")}}`;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/**
 * Parse the JSON form (as produced by clockToJson; timestamp as a decimal string or a
 * non-negative safe integer). Same limits and error codes as decodeVclock. Never throws.
 */
export function clockFromJson(value: unknown): VclockDecodeResult {
  const err = (code: VclockErrorCode, message: string): VclockDecodeResult => ({ ok: false, error: { code, message } });
  if (!isPlainObject(value)) return err("wrong-shape", "expected an object of actor -> {counter, timestamp}");
  const actors = Object.keys(value);
  if (actors.length > VCLOCK_ACTORS_MAX) return err("too-large", `${actors.length} actors, more than ${VCLOCK_ACTORS_MAX}`);
  const clock = new Map<Actor, ClockEntry>();
  for (const actor of actors) {
    const q = quote(actor);
    if (actor.length === 0) return err("empty-actor", "an actor is the empty string");
    if (hasLoneSurrogate(actor)) return err("wrong-shape", `actor ${q} has a lone surrogate (not encodable as UTF-8)`);
    if (textEncoder.encode(actor).length > VCLOCK_ACTOR_MAX_BYTES) {
      return err("too-large", `actor ${q} is longer than ${VCLOCK_ACTOR_MAX_BYTES} bytes of UTF-8`);
    }
    const entry = value[actor];
    if (!isPlainObject(entry)) return err("wrong-shape", `entry of actor ${q} is not an object`);
    const keys = Object.keys(entry);
    const extra = keys.filter((k) => k !== "counter" && k !== "timestamp");
    if (extra.length > 0) return err("wrong-shape", `entry of actor ${q} has unexpected key ${quote(extra[0] ?? "")}`);
    if (!("counter" in entry) || !("timestamp" in entry)) return err("wrong-shape", `entry of actor ${q} needs counter and timestamp`);
    const c = entry["counter"];
    if (typeof c !== "number" || !Number.isInteger(c) || c < 1 || c > VCLOCK_COUNTER_MAX) {
      return err("bad-counter", `counter of actor ${q} is ${JSON.stringify(c)}, expected an integer 1..${VCLOCK_COUNTER_MAX}`);
    }
    const t = entry["timestamp"];
    let ts: bigint;
    if (typeof t === "string" && /^(0|[1-9][0-9]{0,19})$/.test(t)) ts = BigInt(t);
    else if (typeof t === "number" && Number.isSafeInteger(t) && t >= 0) ts = BigInt(t);
    else return err("bad-timestamp", `timestamp of actor ${q} is ${JSON.stringify(t)}, expected a decimal string of a uint64`);
    if (ts > VCLOCK_TIMESTAMP_MAX) return err("bad-timestamp", `timestamp of actor ${q} is larger than 2^64-1`);
    clock.set(actor, { counter: c, timestamp: ts });
  }
  return { ok: true, clock };
}
