// Binds the simulator to MecDB's node: createNode, the channel each peer message takes (the
// production transport's classifier: heartbeats on control, the rest on data), the peer message codec (type + reqId; reply
// types end in "-reply" / "-ack"), the storage key layout (objects under "o:", checksummed
// records of sibling sets: a corrupt one reads as absent; hints and meta ignored), the ring's preference lists, and setsEqual.
import type { NodeId } from "../src/core/types.ts";
import type { SiblingSet } from "../src/core/versioning/types.ts";
import { createNode } from "../src/core/node.ts";
import { decodeMessage, isReplyType } from "../src/core/messages.ts";
import { hintKey, parseHintKey, parseObjectKey, partitionPrefix } from "../src/core/replica/keys.ts";
import { openRecord } from "../src/core/replica/record.ts";
import { createRing, partitionOf, preferenceList } from "../src/core/ring/index.ts";
import { decodeSiblingSet, setsEqual } from "../src/core/versioning/index.ts";
import { classifyPeerMessage } from "../src/adapters/peer-channel.ts";
import { peekStrings, peekTypeAndReqId } from "./msgpack-peek.ts";
import type { MessageInfo, SystemUnderTest } from "./sut.ts";
import { describeMessagePayload, describeStored } from "./viz/describe-mecdb.ts";

const rings = new Map<string, ReturnType<typeof createRing>>();

function ringFor(members: readonly NodeId[], partitionCount: number): ReturnType<typeof createRing> {
  const k = `${partitionCount} ${members.join(",")}`;
  let ring = rings.get(k);
  if (ring === undefined) {
    ring = createRing(members, partitionCount);
    rings.set(k, ring);
  }
  return ring;
}

export const mecdb: SystemUnderTest = {
  createNode,
  channelOf: classifyPeerMessage,
  describeMessage(bytes: Uint8Array): MessageInfo | null {
    // Fast path: read only type and reqId (every message is a map with a string "type").
    const peeked = peekTypeAndReqId(bytes);
    if (peeked !== null) {
      const refusal = peeked.type === "replicate-ack" && (peekStrings(bytes, ["refused"])?.has("refused") ?? false);
      return { type: peeked.type, reqId: peeked.reqId, isReply: isReplyType(peeked.type), ...(refusal ? { refusal } : {}) };
    }
    try {
      const msg = decodeMessage(bytes);
      const reqId = "reqId" in msg ? msg.reqId : null;
      const refusal = msg.type === "replicate-ack" && msg.refused !== undefined;
      return { type: msg.type, reqId, isReply: isReplyType(msg.type), ...(refusal ? { refusal } : {}) };
    } catch {
      return null;
    }
  },
  readObjects(entries) {
    const out = new Map<string, SiblingSet>();
    for (const [storageKey, bytes] of entries) {
      const parsed = parseObjectKey(storageKey);
      if (parsed === null) continue;
      const record = openRecord(bytes);
      if (!record.ok) continue; // a corrupt copy is no copy (the convergence checker then sees it missing)
      out.set(parsed.key, decodeSiblingSet(record.payload));
    }
    return out;
  },
  objectPrefix: partitionPrefix,
  readHints(entries) {
    const out: { target: NodeId; key: string }[] = [];
    for (const [storageKey] of entries) {
      const h = parseHintKey(storageKey);
      if (h !== null) out.push({ target: h.target, key: h.key });
    }
    return out;
  },
  hintKey,
  readHint(storageKey, bytes) {
    const h = parseHintKey(storageKey);
    if (h === null) return null;
    const record = openRecord(bytes);
    let set: SiblingSet | null = null;
    if (record.ok) {
      try {
        set = decodeSiblingSet(record.payload);
      } catch {
        set = null;
      }
    }
    return { target: h.target, partition: h.partition, key: h.key, set };
  },
  primaries(members, partitionCount, n, key) {
    const ring = ringFor(members, partitionCount);
    return [...preferenceList(ring, partitionOf(key, partitionCount), n).primaries];
  },
  ringOwners(members, partitionCount) {
    return ringFor(members, partitionCount).owners;
  },
  setsEqual,
  describe: { message: describeMessagePayload, stored: describeStored },
};
