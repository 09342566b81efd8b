// Validation of a decoded peer message against what this node knows, before the message
// touches any state. Owns: the rules a well-typed message must also follow to be acted on
// (who may send it, which partitions and keys it may name, which request ids it may carry).
// Must not know: how messages are decoded (messages.ts checks types, sizes and UTF-8), what
// the node then does with them, transports.
//
// The sender of a message is the peer the transport authenticated (`transportFrom`: with
// CURVE, a member's key), never a field inside the message: a message whose `from` differs
// is forged and dropped. Request ids are `${requester}/${bootNonce}/${seq}` (node.ts): a
// request must carry an id of its sender, a reply one of this node; anything else cannot
// belong to a request and is dropped before it reaches a coordinator's table.
import type { PeerMessage } from "./messages.ts";
import { partitionOf } from "./ring/index.ts";
import type { NodeId } from "./types.ts";

/** Why a peer message was dropped (the label of mec_peer_messages_dropped_total). */
export type DropReason =
  | "malformed" // not a well-typed message (decodeMessage refused it)
  | "forged-sender" // its `from` is not the authenticated peer it came from
  | "unknown-sender" // not a member of the cluster (or this node itself)
  | "bad-partition" // a partition outside the ring
  | "bad-key" // a key too long, or not in the message's partition
  | "bad-request-id" // a request id that cannot belong to the request it claims
  | "bad-field"; // another field out of range (hint, w, replicas)

export const DROP_REASONS: readonly DropReason[] = ["malformed", "forged-sender", "unknown-sender", "bad-partition", "bad-key", "bad-request-id", "bad-field"];

export interface ValidationContext {
  readonly self: NodeId;
  /** Nodes whose messages are accepted: the configured ones and the cluster state's members (may change). */
  readonly members: readonly NodeId[];
  readonly partitionCount: number;
  readonly n: number;
  /** Longest key in UTF-8 bytes. */
  readonly maxKeyBytes: number;
}

type Verdict = { readonly ok: true } | { readonly ok: false; readonly reason: DropReason; readonly detail: string };

const OK: Verdict = { ok: true };
const utf8 = new TextEncoder();

/** Longest request id: a member id, a boot nonce and a sequence number. */
const REQ_ID_MAX = 512;

function drop(reason: DropReason, detail: string): Verdict {
  return { ok: false, reason, detail };
}

/** Checks a decoded message that arrived from the authenticated peer `transportFrom`. */
export function validatePeerMessage(msg: PeerMessage, transportFrom: NodeId, vc: ValidationContext): Verdict {
  if (msg.from !== transportFrom) return drop("forged-sender", `from ${JSON.stringify(msg.from.slice(0, 80))} arrived from ${transportFrom}`);
  if (msg.from === vc.self) return drop("unknown-sender", `${msg.from} is this node`);
  // Anyone may ask to join (with CURVE only holders of a configured key can reach us at all).
  if (msg.type === "join") return msg.from.length <= 1024 && msg.name.length > 0 && msg.name.length <= 255 ? OK : drop("bad-field", "join with a bad id or name");
  if (!vc.members.includes(msg.from)) return drop("unknown-sender", `${msg.from} is not another member`);
  if (msg.type === "heartbeat" || msg.type === "join-refused") return OK;
  if (msg.type === "ring-gossip") {
    if (msg.state.partitionCount !== vc.partitionCount) return drop("bad-field", `ring of ${msg.state.partitionCount} partitions, this node has ${vc.partitionCount}`);
    return OK;
  }
  const reqIdVerdict = checkReqId(msg, vc.self);
  if (!reqIdVerdict.ok) return reqIdVerdict;
  if ("partition" in msg && msg.partition >= vc.partitionCount) return drop("bad-partition", `partition ${msg.partition} of ${vc.partitionCount}`);
  return checkFields(msg, vc);
}

/** Messages without a request id. */
type Unnumbered = { type: "heartbeat" | "ring-gossip" | "join" | "join-refused" };

function checkReqId(msg: Exclude<PeerMessage, Unnumbered>, self: NodeId): Verdict {
  if (msg.reqId.length > REQ_ID_MAX) return drop("bad-request-id", "request id too long");
  // Replies answer one of our requests; requests carry an id their sender made.
  const owner = msg.type.endsWith("-reply") || msg.type.endsWith("-ack") ? self : msg.from;
  if (!msg.reqId.startsWith(`${owner}/`)) return drop("bad-request-id", `${msg.type} with a request id not of ${owner}`);
  return OK;
}

function checkKey(key: string, partition: number, vc: ValidationContext): Verdict {
  if (key.length === 0 || utf8.encode(key).length > vc.maxKeyBytes) return drop("bad-key", `key of ${key.length} characters (limit ${vc.maxKeyBytes} bytes)`);
  // A key the HTTP API could never name (so never read or delete) is not a key.
  if (key.includes("\0")) return drop("bad-key", "key contains NUL");
  if (partitionOf(key, vc.partitionCount) !== partition) return drop("bad-key", `key not in partition ${partition}`);
  return OK;
}

function checkKeys(keys: Iterable<string>, partition: number, vc: ValidationContext): Verdict {
  for (const key of keys) {
    const v = checkKey(key, partition, vc);
    if (!v.ok) return v;
  }
  return OK;
}

function checkFields(msg: Exclude<PeerMessage, Unnumbered>, vc: ValidationContext): Verdict {
  switch (msg.type) {
    case "get":
    case "handoff":
    case "reap":
      return checkKey(msg.key, msg.partition, vc);
    case "replicate":
    case "repair":
      // A hint names the primary this node stands in for: another member, never this node.
      if (msg.hint !== null && (msg.hint === vc.self || !vc.members.includes(msg.hint))) return drop("bad-field", "hint is not another member");
      return checkKey(msg.key, msg.partition, vc);
    case "put":
      if (msg.w > vc.n) return drop("bad-field", `w=${msg.w} above n=${vc.n}`);
      if (msg.contentType.length > 1024 || (msg.clientId !== null && msg.clientId.length > 255)) return drop("bad-field", "content type or client id too long");
      return checkKey(msg.key, msg.partition, vc);
    case "put-reply":
      if (msg.result.ok && !msg.result.replicas.every((r) => vc.members.includes(r))) return drop("bad-field", "replicas are not members");
      return OK;
    case "ae-buckets":
    case "probe":
    case "probe-ack":
    case "get-reply":
    case "replicate-ack":
    case "handoff-ack":
      return OK;
    case "ae-buckets-reply":
      return checkKeys(msg.keys.map(([k]) => k), msg.partition, vc);
    case "ae-sync": {
      const v = checkKeys(msg.objects.map(([k]) => k), msg.partition, vc);
      return v.ok ? checkKeys(msg.want, msg.partition, vc) : v;
    }
    case "ae-sync-reply":
    case "transfer":
      return checkKeys(msg.objects.map(([k]) => k), msg.partition, vc);
    case "transfer-ack":
      return OK;
  }
}
