// Peer messages: the tagged union nodes exchange, and its msgpack codec. Owns: the wire shape
// of every peer message and its validation (decodeMessage throws on anything malformed; the
// node catches, logs, counts and drops). Every string is checked to be well-formed (a msgpack
// string that is not valid UTF-8 decodes to lone surrogates, which make encodeURIComponent
// throw) and bounded, every array bounded. What the decoder cannot know (members, partitions,
// request ids, the authenticated sender) is checked by validate.ts.
// Must not know: what a node does with a message, transports.
//
// Conventions the simulator's checkers rely on: every message names its sender (`from`),
// every request carries `reqId`, every reply echoes the request's `reqId`, and reply types end
// in "-reply" or "-ack". Sibling sets and clocks travel as their storage encoding
// (encodeSiblingSet bytes), so a replica can store what it received byte for byte.
import { Decoder, Encoder } from "@msgpack/msgpack";
import { stateFromWire, stateToWire } from "./membership/cluster-state.ts";
import type { ClusterState } from "./membership/cluster-state.ts";
import type { ClientErrorCode, NodeId } from "./types.ts";

/** A write's outcome as the minting replica reports it to the coordinator. */
export type WireWriteResult =
  | {
      readonly ok: true;
      /** encodeSiblingSet bytes of the set after the write. */
      readonly set: Uint8Array;
      readonly dot: { readonly actor: string; readonly counter: number };
      readonly replicas: readonly string[];
    }
  | {
      readonly ok: false;
      readonly error: ClientErrorCode;
      readonly message: string;
      readonly answered: number;
      readonly needed: number;
      readonly maybeApplied: boolean;
    };

/** The fields of every message that carries one key's sibling set (encodeSiblingSet bytes). */
interface ObjectTransfer {
  readonly reqId: string;
  readonly from: NodeId;
  readonly partition: number;
  readonly key: string;
  readonly set: Uint8Array;
}

/** An object transfer that may go to a fallback: hint = the primary it stands in for, or null. */
interface HintedObjectTransfer extends ObjectTransfer {
  readonly hint: NodeId | null;
}

export type PeerMessage =
  /** Liveness only (membership). */
  | { readonly type: "heartbeat"; readonly from: NodeId; /** The sender's boot id (8 hex digits). */ readonly boot: string }
  /**
   * A round trip on the data channel to a peer whose requests timed out: its probe-ack (like
   * any reply) shows that requests to it get through again. Heartbeats cannot: they travel on
   * the control channel, which may be alive while the data channel is not.
   */
  | { readonly type: "probe"; readonly reqId: string; readonly from: NodeId }
  | { readonly type: "probe-ack"; readonly reqId: string; readonly from: NodeId }
  /** Coordinator asks a replica for its copy of a key. */
  | { readonly type: "get"; readonly reqId: string; readonly from: NodeId; readonly partition: number; readonly key: string }
  /** A replica's copy; null = not found, or (corrupt: true) its record failed verification: not counted, repaired. */
  | { readonly type: "get-reply"; readonly reqId: string; readonly from: NodeId; readonly set: Uint8Array | null; readonly corrupt?: true }
  /** Coordinator forwards a client write to the minting replica. */
  | {
      readonly type: "put";
      readonly reqId: string;
      readonly from: NodeId;
      readonly op: "put" | "delete";
      readonly partition: number;
      readonly key: string;
      /** null for a delete. */
      readonly value: Uint8Array | null;
      readonly contentType: string;
      /** The client's causal context as a sibling-less set (encodeSiblingSet bytes); null = blind write. */
      readonly context: Uint8Array | null;
      readonly w: number;
      readonly clientId: string | null;
      /**
       * The boot (8 hex digits) of the minting replica's process this forward is addressed to,
       * as the coordinator last learned it; null when it knows none yet. Only that process may
       * apply it, so a duplicate that outlives the process is never applied again.
       */
      readonly toBoot: string | null;
    }
  /** The minting replica's outcome; boot = the replier's current boot (8 hex digits). */
  | { readonly type: "put-reply"; readonly reqId: string; readonly from: NodeId; readonly boot: string; readonly result: WireWriteResult }
  /** Minting replica sends the new set to another replica; hint = the primary a fallback stands in for. */
  | ({ readonly type: "replicate" } & HintedObjectTransfer)
  /** The replica's write is durable; or, with refused, it could not store it (nothing applied: not counted toward W). */
  | { readonly type: "replicate-ack"; readonly reqId: string; readonly from: NodeId; readonly refused?: ClientErrorCode }
  /** Read repair (no acknowledgement). */
  | ({ readonly type: "repair" } & HintedObjectTransfer)
  /** A fallback hands a hinted object to its primary. */
  | ({ readonly type: "handoff" } & ObjectTransfer)
  | { readonly type: "handoff-ack"; readonly reqId: string; readonly from: NodeId }
  /** Compare-and-reap a tombstone-only set held by all primaries (no acknowledgement). */
  | ({ readonly type: "reap" } & ObjectTransfer)
  /** Anti-entropy step 1: the initiator's bucket hashes of a partition. */
  | { readonly type: "ae-buckets"; readonly reqId: string; readonly from: NodeId; readonly partition: number; readonly buckets: readonly number[] }
  /** Step 2: the differing buckets and the responder's (key, digest) pairs in them. */
  | {
      readonly type: "ae-buckets-reply";
      readonly reqId: string;
      readonly from: NodeId;
      readonly partition: number;
      readonly diff: readonly number[];
      readonly keys: readonly (readonly [string, number])[];
    }
  /** Step 3: objects the initiator holds that differ, and the keys it wants. */
  | {
      readonly type: "ae-sync";
      readonly reqId: string;
      readonly from: NodeId;
      readonly partition: number;
      readonly objects: readonly (readonly [string, Uint8Array])[];
      readonly want: readonly string[];
    }
  /** Step 4: the objects the initiator wanted. */
  | {
      readonly type: "ae-sync-reply";
      readonly reqId: string;
      readonly from: NodeId;
      readonly partition: number;
      readonly objects: readonly (readonly [string, Uint8Array])[];
    }
  /** The sender's cluster state (membership/cluster-state.ts wire form, checked by stateFromWire). */
  | { readonly type: "ring-gossip"; readonly from: NodeId; readonly state: ClusterState }
  /** A node asks a member to add it; name is its actor prefix, partitionCount its configured ring size. */
  | { readonly type: "join"; readonly from: NodeId; readonly name: string; readonly partitionCount: number }
  /** A member cannot add the sender, for good (the partition counts differ): the sender must not join. */
  | { readonly type: "join-refused"; readonly from: NodeId; readonly partitionCount: number; readonly message: string }
  /** Ownership handoff: a batch of a partition's objects for a new primary (merged, never minted). */
  | {
      readonly type: "transfer";
      readonly reqId: string;
      readonly from: NodeId;
      readonly partition: number;
      readonly objects: readonly (readonly [string, Uint8Array])[];
      /** The batch that completes the transfer: after merging it the receiver holds the partition. */
      readonly last: boolean;
    }
  | { readonly type: "transfer-ack"; readonly reqId: string; readonly from: NodeId };


const encoder = new Encoder({ useBigInt64: true });
/** Largest binary field (a sibling set); the transport's message size cap is the tighter bound. */
const BINARY_FIELD_MAX = 256 * 1024 * 1024;
// Bounds on untrusted input, checked while decoding (before anything is allocated for it).
const decoder = new Decoder({
  useBigInt64: true,
  maxStrLength: 4 * 65_536,
  maxBinLength: BINARY_FIELD_MAX,
  maxArrayLength: 4096,
  maxMapLength: 64,
  maxExtLength: 0,
});

/** msgpack bytes of a message (a fresh copy: the encoder reuses its buffer). */
export function encodeMessage(msg: PeerMessage): Uint8Array {
  if (msg.type === "ring-gossip") return encoder.encode({ type: msg.type, from: msg.from, state: stateToWire(msg.state) }).slice();
  return encoder.encode(msg).slice();
}

class MalformedMessageError extends Error {
  override readonly name = "MalformedMessageError";
}

function fail(what: string): never {
  throw new MalformedMessageError(what);
}

type Obj = Record<string, unknown>;

/** Longest string field a peer message may carry (keys are bounded again by the node's limit). */
const STRING_FIELD_MAX = 65_536;
/** Most elements of an array field (ae-* lists; the sender caps its lists far below this). */
const ARRAY_FIELD_MAX = 4096;

/** A lone surrogate: what a msgpack string that is not valid UTF-8 may decode to. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A string that came off the wire: bounded and well-formed (encodeURIComponent, TextEncoder and storage keys can rely on it). */
function wireString(v: unknown, what: string): string {
  if (typeof v !== "string") fail(`${what} is not a string`);
  if (v.length > STRING_FIELD_MAX) fail(`${what} is longer than ${STRING_FIELD_MAX} characters`);
  if (LONE_SURROGATE.test(v)) fail(`${what} is not valid UTF-8`);
  return v;
}

function str(o: Obj, f: string): string {
  return wireString(o[f], `field ${f}`);
}

function strOrNull(o: Obj, f: string): string | null {
  const v = o[f];
  if (v === null) return null;
  return wireString(v, `field ${f}`);
}

/** A boot id: exactly 8 lowercase hex digits (hex32 of the boot nonce), or null. */
function bootOrNull(o: Obj, f: string): string | null {
  const v = strOrNull(o, f);
  if (v !== null && !/^[0-9a-f]{8}$/.test(v)) fail(`field ${f} is not 8 hex digits`);
  return v;
}

/** The boot id inside a request id `${from}/${boot}/${seq}` (see NodeContext.newReqId), or null. */
export function bootOfReqId(reqId: string, from: NodeId): string | null {
  if (!reqId.startsWith(`${from}/`)) return null;
  const rest = reqId.slice(from.length + 1);
  const slash = rest.indexOf("/");
  const boot = slash < 0 ? "" : rest.slice(0, slash);
  return /^[0-9a-f]{8}$/.test(boot) ? boot : null;
}

function bootId(o: Obj, f: string): string {
  const v = str(o, f);
  if (!/^[0-9a-f]{8}$/.test(v)) fail(`field ${f} is not a boot id (8 hex digits)`);
  return v;
}

function int(o: Obj, f: string, min = 0): number {
  const v = o[f];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) fail(`field ${f} is not an integer >= ${min}`);
  return v;
}

function num(o: Obj, f: string): number {
  const v = o[f];
  if (typeof v !== "number" || !Number.isFinite(v)) fail(`field ${f} is not a number`);
  return v;
}

function bool(o: Obj, f: string): boolean {
  const v = o[f];
  if (typeof v !== "boolean") fail(`field ${f} is not a boolean`);
  return v;
}

function bytesOf(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} is not binary`);
  return v.slice(); // copy: the decoder hands out views on the input buffer
}

function bytes(o: Obj, f: string): Uint8Array {
  return bytesOf(o[f], `field ${f}`);
}

function bytesOrNull(o: Obj, f: string): Uint8Array | null {
  return o[f] === null ? null : bytes(o, f);
}

function arr(o: Obj, f: string): unknown[] {
  const v = o[f];
  if (!Array.isArray(v)) fail(`field ${f} is not an array`);
  if (v.length > ARRAY_FIELD_MAX) fail(`field ${f} has more than ${ARRAY_FIELD_MAX} elements`);
  return v;
}

function u32Array(o: Obj, f: string): number[] {
  return arr(o, f).map((x) => {
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 0xffffffff) fail(`field ${f} has a non-u32 element`);
    return x;
  });
}

function stringArray(o: Obj, f: string): string[] {
  return arr(o, f).map((x) => wireString(x, `an element of field ${f}`));
}

function objectPairs(o: Obj, f: string): [string, Uint8Array][] {
  return arr(o, f).map((x) => {
    if (!Array.isArray(x) || x.length !== 2) fail(`field ${f} has a malformed pair`);
    return [wireString(x[0], `a key in field ${f}`), bytesOf(x[1], `field ${f} value`)];
  });
}

function digestPairs(o: Obj, f: string): [string, number][] {
  return arr(o, f).map((x) => {
    if (!Array.isArray(x) || x.length !== 2) fail(`field ${f} has a malformed pair`);
    const d: unknown = x[1];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0 || d > 0xffffffff) fail(`field ${f} has a non-u32 digest`);
    return [wireString(x[0], `a key in field ${f}`), d];
  });
}

const ERROR_CODES: readonly ClientErrorCode[] = ["quorum", "unavailable", "starting", "storage-full", "storage-error", "bad-request", "too-many-siblings", "object-too-large"];

function errorCode(o: Obj, f: string): ClientErrorCode {
  const error = str(o, f);
  if (!(ERROR_CODES as readonly string[]).includes(error)) fail(`unknown error code ${error}`);
  return error as ClientErrorCode;
}

function writeResult(o: Obj): WireWriteResult {
  const v = o["result"];
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail("field result is not a map");
  const r = v as Obj;
  if (bool(r, "ok")) {
    const dotV = r["dot"];
    if (typeof dotV !== "object" || dotV === null) fail("field result.dot is not a map");
    const dot = dotV as Obj;
    return {
      ok: true,
      set: bytes(r, "set"),
      dot: { actor: str(dot, "actor"), counter: int(dot, "counter", 1) },
      replicas: stringArray(r, "replicas"),
    };
  }
  return {
    ok: false,
    error: errorCode(r, "error"),
    message: str(r, "message"),
    answered: int(r, "answered"),
    needed: int(r, "needed"),
    maybeApplied: bool(r, "maybeApplied"),
  };
}

/** Decodes and validates a peer message; throws (MalformedMessageError or a msgpack error) on garbage. */
export function decodeMessage(input: Uint8Array): PeerMessage {
  const raw: unknown = decoder.decode(input);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || raw instanceof Uint8Array) fail("not a map");
  const o = raw as Obj;
  const type = str(o, "type");
  const from = str(o, "from");
  if (type === "heartbeat") return { type, from, boot: bootId(o, "boot") };
  if (type === "ring-gossip") {
    try {
      return { type, from, state: stateFromWire(o["state"]) };
    } catch (e) {
      return fail(e instanceof Error ? e.message : String(e));
    }
  }
  if (type === "join") return { type, from, name: str(o, "name"), partitionCount: int(o, "partitionCount", 1) };
  if (type === "join-refused") return { type, from, partitionCount: int(o, "partitionCount", 1), message: str(o, "message") };
  const reqId = str(o, "reqId");
  switch (type) {
    case "get":
      return { type, reqId, from, partition: int(o, "partition"), key: str(o, "key") };
    case "get-reply":
      return o["corrupt"] === true ? { type, reqId, from, set: null, corrupt: true } : { type, reqId, from, set: bytesOrNull(o, "set") };
    case "put": {
      const op = str(o, "op");
      if (op !== "put" && op !== "delete") fail(`bad op ${op}`);
      return {
        type,
        reqId,
        from,
        op,
        partition: int(o, "partition"),
        key: str(o, "key"),
        value: bytesOrNull(o, "value"),
        contentType: str(o, "contentType"),
        context: bytesOrNull(o, "context"),
        w: int(o, "w", 1),
        clientId: strOrNull(o, "clientId"),
        toBoot: bootOrNull(o, "toBoot"),
      };
    }
    case "put-reply": {
      const boot = bootOrNull(o, "boot");
      if (boot === null) fail("field boot is null");
      return { type, reqId, from, boot, result: writeResult(o) };
    }
    case "replicate":
    case "repair":
      return { type, reqId, from, partition: int(o, "partition"), key: str(o, "key"), set: bytes(o, "set"), hint: strOrNull(o, "hint") };
    case "probe":
    case "probe-ack":
    case "replicate-ack":
      return o["refused"] === undefined || o["refused"] === null ? { type, reqId, from } : { type, reqId, from, refused: errorCode(o, "refused") };
    case "handoff-ack":
      return { type, reqId, from };
    case "handoff":
    case "reap":
      return { type, reqId, from, partition: int(o, "partition"), key: str(o, "key"), set: bytes(o, "set") };
    case "ae-buckets":
      return { type, reqId, from, partition: int(o, "partition"), buckets: u32Array(o, "buckets") };
    case "ae-buckets-reply":
      return { type, reqId, from, partition: int(o, "partition"), diff: u32Array(o, "diff"), keys: digestPairs(o, "keys") };
    case "ae-sync":
      return { type, reqId, from, partition: int(o, "partition"), objects: objectPairs(o, "objects"), want: stringArray(o, "want") };
    case "ae-sync-reply":
      return { type, reqId, from, partition: int(o, "partition"), objects: objectPairs(o, "objects") };
    case "transfer":
      return { type, reqId, from, partition: int(o, "partition"), objects: objectPairs(o, "objects"), last: bool(o, "last") };
    case "transfer-ack":
      return { type, reqId, from };
    default:
      return fail(`unknown message type ${type}`);
  }
}

/** True for message types that answer a request (they echo its reqId). */
export function isReplyType(type: string): boolean {
  return type.endsWith("-reply") || type.endsWith("-ack");
}
