// Storage key layout of a node. Owns: how objects, hints and the meta record are named in the
// node's ordered byte store. Must not know: what the values mean (sibling sets are encoded by
// src/core/versioning), networking. The simulator's checkers use these helpers to read final
// replica states.
//
//   o:<partition as 4 hex>:<key>                 the object (encodeSiblingSet bytes) of a primary
//   h:<target, URI-encoded>:<partition hex>:<key> a hinted object held for a down primary
//   c:<partition hex>:<key>                      [actor, highest counter] this node minted for a key as a fallback
//   f:<partition hex>:<key>                      fence: the actor that must not mint this key again (its record was corrupt)
//   m:meta                                       the node's meta record (incarnation)
//   m:probe                                      a byte written to test whether failing storage writes work again
//
// Keys are arbitrary UTF-8 strings without NUL. Node ids may contain ':' (production ids are
// "host:port"), so a hint's target is URI-encoded to keep the key parseable.

export const META_KEY = "m:meta";
export const PROBE_KEY = "m:probe";
export const OBJECT_PREFIX = "o:";
export const HINT_PREFIX = "h:";
const MINTED_PREFIX = "c:";
export const FENCE_PREFIX = "f:";

function partitionHex(partition: number): string {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0xffff) throw new RangeError(`bad partition ${partition}`);
  return partition.toString(16).padStart(4, "0");
}

function parsePartitionHex(text: string): number | null {
  return /^[0-9a-f]{4}$/.test(text) ? parseInt(text, 16) : null;
}

/** Storage key of a primary's object. */
export function objectKey(partition: number, key: string): string {
  return `${OBJECT_PREFIX}${partitionHex(partition)}:${key}`;
}

/** Prefix of every object of one partition (for scans). */
export function partitionPrefix(partition: number): string {
  return `${OBJECT_PREFIX}${partitionHex(partition)}:`;
}

export function parseObjectKey(storageKey: string): { partition: number; key: string } | null {
  if (!storageKey.startsWith(OBJECT_PREFIX) || storageKey.length < OBJECT_PREFIX.length + 5) return null;
  const partition = parsePartitionHex(storageKey.slice(2, 6));
  if (partition === null || storageKey[6] !== ":") return null;
  return { partition, key: storageKey.slice(7) };
}

/** Storage key of a hint: an object held by a fallback for `target`. */
export function hintKey(target: string, partition: number, key: string): string {
  return `${HINT_PREFIX}${encodeURIComponent(target)}:${partitionHex(partition)}:${key}`;
}

export function parseHintKey(storageKey: string): { target: string; partition: number; key: string } | null {
  if (!storageKey.startsWith(HINT_PREFIX)) return null;
  const rest = storageKey.slice(HINT_PREFIX.length);
  const colon = rest.indexOf(":");
  if (colon < 0) return null;
  let target: string;
  try {
    target = decodeURIComponent(rest.slice(0, colon));
  } catch {
    return null;
  }
  const partition = parsePartitionHex(rest.slice(colon + 1, colon + 5));
  if (partition === null || rest[colon + 5] !== ":") return null;
  return { target, partition, key: rest.slice(colon + 6) };
}

/** Storage key of the highest counter this node minted for a key while standing in as a fallback. */
export function mintedKey(partition: number, key: string): string {
  return `${MINTED_PREFIX}${partitionHex(partition)}:${key}`;
}

/** Storage key of a key's mint fence (see replica.ts: a corrupt record was restored from a peer). */
export function fenceKey(partition: number, key: string): string {
  return `${FENCE_PREFIX}${partitionHex(partition)}:${key}`;
}

export function parseFenceKey(storageKey: string): { partition: number; key: string } | null {
  return storageKey.startsWith(FENCE_PREFIX) ? parseObjectKey(`${OBJECT_PREFIX}${storageKey.slice(FENCE_PREFIX.length)}`) : null;
}
