// msgpack forms of clocks and sibling sets used in node-to-node messages and on disk.
// Owns the shape of those forms and their validation on the way in.
// Must not know: the X-Mec-Vclock header (codec.ts), transports, storage engines.
//
// Forms (arrays, so the bytes are compact and deterministic; no maps whose order could vary):
//   clock       = [[actor: str, counter: uint, timestamp: uint64 bigint], ...]   sorted by actor
//   sibling     = [actor: str, counter: uint, timestamp: uint64 bigint, contentType: str, value: bin | nil]
//   sibling set = [clock, [sibling, ...]]                                       siblings sorted by dot
// Timestamps are always encoded as msgpack uint64 (a bigint with useBigInt64); on the way in
// a plain integer is accepted too. Decoding validates everything and throws an Error naming
// the problem; it returns values that share no memory with the input bytes.
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Actor, ClockEntry, Sibling, SiblingSet, VClock } from "./types.ts";
import { checkSet, sortSiblings } from "./dvvset.ts";
import { sortClock } from "./vclock.ts";

const COUNTER_MAX = 0xffff_ffff;
const TIMESTAMP_MAX = 0xffff_ffff_ffff_ffffn;

export type ClockWire = Array<[Actor, number, bigint]>;
export type SiblingWire = [Actor, number, bigint, string, Uint8Array | null];
export type SiblingSetWire = [ClockWire, SiblingWire[]];

export function clockToWire(clock: VClock): ClockWire {
  return [...sortClock(clock)].map(([actor, e]) => [actor, e.counter, e.timestamp]);
}

function bad(what: string, detail: string): never {
  throw new Error(`malformed ${what}: ${detail}`);
}

function toCounter(x: unknown, what: string): number {
  const n = typeof x === "bigint" && x <= BigInt(COUNTER_MAX) ? Number(x) : x;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > COUNTER_MAX) {
    return bad(what, `counter ${String(x)} is not an integer 1..${COUNTER_MAX}`);
  }
  return n;
}

function toTimestamp(x: unknown, what: string): bigint {
  let t: bigint;
  if (typeof x === "bigint") t = x;
  else if (typeof x === "number" && Number.isSafeInteger(x)) t = BigInt(x);
  else return bad(what, `timestamp ${String(x)} is not an integer`);
  if (t < 0n || t > TIMESTAMP_MAX) return bad(what, `timestamp ${t} is outside uint64`);
  return t;
}

function toActor(x: unknown, what: string): Actor {
  if (typeof x !== "string" || x.length === 0) return bad(what, `actor ${JSON.stringify(x) ?? String(x)} is not a non-empty string`);
  return x;
}

export function clockFromWire(x: unknown): VClock {
  if (!Array.isArray(x)) return bad("clock", "expected an array of [actor, counter, timestamp]");
  const clock = new Map<Actor, ClockEntry>();
  for (const item of x as unknown[]) {
    if (!Array.isArray(item) || item.length !== 3) return bad("clock", "entry is not [actor, counter, timestamp]");
    const actor = toActor(item[0], "clock");
    if (clock.has(actor)) return bad("clock", `actor ${JSON.stringify(actor)} appears twice`);
    clock.set(actor, { counter: toCounter(item[1], "clock"), timestamp: toTimestamp(item[2], "clock") });
  }
  return sortClock(clock);
}

function siblingToWire(s: Sibling): SiblingWire {
  return [s.dot.actor, s.dot.counter, s.timestamp, s.contentType, s.value];
}

function siblingFromWire(x: unknown): Sibling {
  if (!Array.isArray(x) || x.length !== 5) return bad("sibling", "expected [actor, counter, timestamp, contentType, value]");
  const actor = toActor(x[0], "sibling");
  const counter = toCounter(x[1], "sibling");
  const timestamp = toTimestamp(x[2], "sibling");
  const contentType: unknown = x[3];
  if (typeof contentType !== "string") return bad("sibling", "contentType is not a string");
  const value: unknown = x[4];
  if (value !== null && !(value instanceof Uint8Array)) return bad("sibling", "value is neither binary nor nil");
  return { dot: { actor, counter }, timestamp, contentType, value: value === null ? null : value.slice() };
}

export function siblingSetToWire(set: SiblingSet): SiblingSetWire {
  return [clockToWire(set.clock), sortSiblings(set.siblings).map(siblingToWire)];
}

/** Validate and rebuild a sibling set from its wire form. Throws Error on malformed input. */
export function siblingSetFromWire(x: unknown): SiblingSet {
  if (!Array.isArray(x) || x.length !== 2) return bad("sibling set", "expected [clock, siblings]");
  const clock = clockFromWire(x[0]);
  const rawSiblings: unknown = x[1];
  if (!Array.isArray(rawSiblings)) return bad("sibling set", "siblings is not an array");
  const set: SiblingSet = { clock, siblings: sortSiblings((rawSiblings as unknown[]).map(siblingFromWire)) };
  const problem = checkSet(set);
  if (problem !== null) return bad("sibling set", problem);
  return set;
}

const encoder = new Encoder({ useBigInt64: true });
// One decoder for every call (msgpack's decode() builds a new Decoder each time; a Decoder is
// reusable, and re-entrant calls get a clone of it).
const decoder = new Decoder({ useBigInt64: true });

/** msgpack bytes of a sibling set (a fresh copy, safe to keep). */
export function encodeSiblingSet(set: SiblingSet): Uint8Array {
  return encoder.encode(siblingSetToWire(set)).slice();
}

/** Decode msgpack bytes of a sibling set. Throws Error naming the problem on malformed input. */
export function decodeSiblingSet(bytes: Uint8Array): SiblingSet {
  let x: unknown;
  try {
    x = decoder.decode(bytes);
  } catch (e) {
    throw new Error(`malformed sibling set: not msgpack (${e instanceof Error ? e.message : String(e)})`);
  }
  return siblingSetFromWire(x);
}

/** msgpack bytes of a clock in its wire form (a fresh copy). */
export function encodeClock(clock: VClock): Uint8Array {
  return encoder.encode(clockToWire(clock)).slice();
}

/** Decode msgpack bytes of a clock. Throws Error naming the problem on malformed input. */
export function decodeClock(bytes: Uint8Array): VClock {
  let x: unknown;
  try {
    x = decoder.decode(bytes);
  } catch (e) {
    throw new Error(`malformed clock: not msgpack (${e instanceof Error ? e.message : String(e)})`);
  }
  return clockFromWire(x);
}
