// A bounded memo of verified records: per storage key, the record bytes last verified (or
// written) there and the sibling set they decode to, so a key read again and again is
// checksummed and decoded once per stored version instead of once per read. Owns: the memo
// and its bounds. Must not know: storage, messages, what the sets mean.
//
// Why it cannot serve a stale set: an entry is used only when the bytes storage hands back are
// byte for byte the bytes the entry was made from (the memo keeps its own copy, so bytes changed
// in place under it, say a flipped bit, do not match). The set is a pure function of the bytes,
// so a hit returns exactly what verifying and decoding them would (record.ts, wire.ts). Writes
// need not invalidate anything: new bytes simply miss (or replace the entry when primed).
// Bounded by entries and by bytes held; the least recently used entries go first.
import type { SiblingSet } from "../versioning/types.ts";

export interface DecodedRecord {
  /** The verified payload (encodeSiblingSet bytes): the memo's own copy. */
  readonly payload: Uint8Array;
  readonly set: SiblingSet;
}

interface Entry extends DecodedRecord {
  /** The whole record (header + payload) the entry was made from; payload is a view into it. */
  readonly record: Uint8Array;
}

export const DECODED_RECORDS_MAX_ENTRIES = 1024;
export const DECODED_RECORDS_MAX_BYTES = 8 * 1024 * 1024;

export class DecodedRecords {
  private readonly entries = new Map<string, Entry>();
  private bytesHeld = 0;

  constructor(
    private readonly maxEntries = DECODED_RECORDS_MAX_ENTRIES,
    private readonly maxBytes = DECODED_RECORDS_MAX_BYTES,
  ) {}

  /** The decoded record when `record` is exactly the bytes last remembered for storageKey. */
  get(storageKey: string, record: Uint8Array): DecodedRecord | undefined {
    const e = this.entries.get(storageKey);
    if (e === undefined || !sameBytes(e.record, record)) return undefined;
    this.entries.delete(storageKey); // most recently used goes last
    this.entries.set(storageKey, e);
    return e;
  }

  /** Whether `record` is exactly the bytes last remembered for storageKey (a check that leaves the recency order alone). */
  holds(storageKey: string, record: Uint8Array): boolean {
    const e = this.entries.get(storageKey);
    return e !== undefined && sameBytes(e.record, record);
  }

  /**
   * Remembers that `record` (verified: its payload starts at payloadOffset) decodes to `set`.
   * The caller vouches for that: set must be what decodeSiblingSet makes of the payload.
   */
  remember(storageKey: string, record: Uint8Array, payloadOffset: number, set: SiblingSet): void {
    this.forget(storageKey);
    if (record.length > this.maxBytes / 8) return; // a huge record would flush everything else
    const own = record.slice();
    this.entries.set(storageKey, { record: own, payload: own.subarray(payloadOffset), set });
    this.bytesHeld += own.length;
    for (const [k] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytesHeld <= this.maxBytes) break;
      this.forget(k);
    }
    if (this.bytesHeld < 0 || this.entries.size > this.maxEntries) throw new Error("decoded-records bookkeeping broke");
  }

  forget(storageKey: string): void {
    const e = this.entries.get(storageKey);
    if (e === undefined) return;
    this.entries.delete(storageKey);
    this.bytesHeld -= e.record.length;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.bytesHeld;
  }
}

/** Byte-for-byte equality; four bytes a step for long word-aligned arrays (two views cost more than they save below a few hundred bytes). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if (a.length >= 256 && a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false;
    i = words << 2;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
