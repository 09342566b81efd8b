// What MecDB's messages and stored objects carry, summarised for the trace (only when tracing):
// the key, the sibling set's clock and dots, a write's causal context. The space-time diagram
// labels arrows with it and finds the moment siblings form from it; an ownership transfer
// batch also says its partition, object count and whether it is the last. Binds to MecDB's codecs,
// like sim/mecdb.ts; a decode failure gives no summary (never an exception).
import { decodeMessage, type PeerMessage } from "../../src/core/messages.ts";
import { parseHintKey, parseObjectKey } from "../../src/core/replica/keys.ts";
import { openRecord } from "../../src/core/replica/record.ts";
import { decodeSiblingSet } from "../../src/core/versioning/index.ts";
import type { SiblingSet } from "../../src/core/versioning/types.ts";

/** A sibling set as the trace shows it: clock {actor: counter}, live dots and tombstone dots ("actor:counter"). */
export interface SetSummary {
  readonly clock: Record<string, number>;
  readonly live: string[];
  readonly dead: string[];
}

interface CarriedSummary {
  readonly key?: string;
  readonly set?: SetSummary;
  /** A write's context (put): the clock the client had seen; {} = blind. */
  readonly ctx?: Record<string, number>;
  /** Keys of a multi-object message (anti-entropy, ownership transfer). */
  readonly keys?: string[];
  /** An ownership transfer batch: its partition, how many objects it carries, and whether it is the final batch. */
  readonly transfer?: { readonly partition: number; readonly objects: number; readonly last: boolean };
}

function summariseSet(set: SiblingSet): SetSummary {
  const clock: Record<string, number> = {};
  for (const [actor, e] of set.clock) clock[actor] = e.counter;
  const live: string[] = [];
  const dead: string[] = [];
  for (const s of set.siblings) (s.value === null ? dead : live).push(`${s.dot.actor}:${s.dot.counter}`);
  return { clock, live, dead };
}

function setOf(bytes: Uint8Array | null): SetSummary | undefined {
  if (bytes === null) return undefined;
  try {
    return summariseSet(decodeSiblingSet(bytes));
  } catch {
    return undefined;
  }
}

function carried(msg: PeerMessage): CarriedSummary | null {
  switch (msg.type) {
    case "get":
      return { key: msg.key };
    case "get-reply": {
      const set = setOf(msg.set);
      return set ? { set } : {};
    }
    case "put": {
      const ctx = msg.context === null ? {} : (setOf(msg.context)?.clock ?? {});
      return { key: msg.key, ctx };
    }
    case "put-reply": {
      const set = msg.result.ok ? setOf(msg.result.set) : undefined;
      return set ? { set } : null;
    }
    case "replicate":
    case "repair":
    case "handoff":
    case "reap": {
      const set = setOf(msg.set);
      return set ? { key: msg.key, set } : { key: msg.key };
    }
    case "ae-sync":
    case "ae-sync-reply":
      return msg.objects.length > 0 ? { keys: msg.objects.map(([k]) => k) } : null;
    case "transfer": {
      const transfer = { partition: msg.partition, objects: msg.objects.length, last: msg.last };
      return msg.objects.length > 0 ? { keys: msg.objects.map(([k]) => k), transfer } : { transfer };
    }
    default:
      return null;
  }
}

/** The summary of a peer message's payload, or null (heartbeats, acks, undecodable bytes). */
export function describeMessagePayload(bytes: Uint8Array): CarriedSummary | null {
  try {
    return carried(decodeMessage(bytes));
  } catch {
    return null;
  }
}

/** The summary of a stored object or hint (storage key + checksummed record of a set), or null for other records and corrupt ones. */
export function describeStored(storageKey: string, bytes: Uint8Array): CarriedSummary | null {
  const parsed = parseObjectKey(storageKey) ?? parseHintKey(storageKey);
  if (parsed === null) return null;
  const record = openRecord(bytes);
  const set = record.ok ? setOf(record.payload) : undefined;
  return set ? { key: parsed.key, set } : null;
}
