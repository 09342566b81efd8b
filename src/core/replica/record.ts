// The record a replica stores for a sibling set (objects "o:" and hints "h:"): the set's
// encodeSiblingSet bytes (the form peers exchange) behind a checksum, so a flipped byte on
// disk is detected on every read instead of being served, replicated or used for repair.
// Owns: the record layout and its verification. Must not know: storage engines, keys.
//
//   byte 0      format tag 0x01
//   bytes 1..4  CRC-32 (hash.ts) of the payload, big-endian
//   bytes 5..   payload: encodeSiblingSet bytes
//
// A record that is too short, has another tag or a wrong checksum is corrupt (records
// written before checksums existed read as corrupt too: such a data directory is re-synced
// from its peers like a corrupted one).
import { crc32 } from "../hash.ts";

const RECORD_TAG = 0x01;
/** Bytes before the payload. */
export const RECORD_HEADER_BYTES = 5;

/** The stored record of a payload (a fresh buffer). */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + payload.length);
  const sum = crc32(payload);
  out[0] = RECORD_TAG;
  out[1] = sum >>> 24;
  out[2] = (sum >>> 16) & 0xff;
  out[3] = (sum >>> 8) & 0xff;
  out[4] = sum & 0xff;
  out.set(payload, RECORD_HEADER_BYTES);
  return out;
}

type OpenedRecord = { readonly ok: true; readonly payload: Uint8Array } | { readonly ok: false; readonly problem: string };

/** Verifies a stored record; the payload is a view into `bytes` (copy it to keep it past a buffer reuse). */
export function openRecord(bytes: Uint8Array): OpenedRecord {
  if (bytes.length < RECORD_HEADER_BYTES) return { ok: false, problem: `record of ${bytes.length} bytes is shorter than its header` };
  if (bytes[0] !== RECORD_TAG) return { ok: false, problem: `record tag 0x${bytes[0]!.toString(16)} is not 0x01` };
  const stored = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  const payload = bytes.subarray(RECORD_HEADER_BYTES);
  const actual = crc32(payload);
  if (stored !== actual) return { ok: false, problem: `checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})` };
  return { ok: true, payload };
}
