// Anti-entropy hash trees (Dynamo §4.7, simplified to two levels): per partition, a map
// key -> digest of its stored bytes, folded into BUCKET_COUNT bucket hashes and a root.
// Owns: the in-memory trees and the pure comparisons of an exchange. Must not know: messages,
// storage, timers (the node drives the exchange and updates the trees after every write).
//
// Theory of operation: a bucket hash is the XOR of one hash per (key, digest) entry, so an
// insert, update or delete is O(1) (XOR the old entry out, the new one in). Two replicas of a
// partition compare bucket hashes, then the (key, digest) pairs of the differing buckets, then
// exchange the objects of the differing keys and merge them (dvvset sync): replicas converge
// even for keys nobody reads.
import { fnv1a32 } from "../hash.ts";

export const BUCKET_COUNT = 64;

/** Digest of a stored object's bytes. */
function digestOf(bytes: Uint8Array): number {
  return fnv1a32(bytes) >>> 0;
}

function bucketOf(key: string): number {
  return fnv1a32(key) % BUCKET_COUNT;
}

function entryHash(key: string, digest: number): number {
  return fnv1a32(`${key}\u0000${digest.toString(16)}`) >>> 0;
}

class PartitionTree {
  readonly digests = new Map<string, number>();
  readonly buckets = new Uint32Array(BUCKET_COUNT);

  set(key: string, digest: number | null): void {
    const bucket = bucketOf(key);
    const old = this.digests.get(key);
    if (old !== undefined) this.buckets[bucket] = ((this.buckets[bucket] ?? 0) ^ entryHash(key, old)) >>> 0;
    if (digest === null) {
      this.digests.delete(key);
    } else {
      this.digests.set(key, digest);
      this.buckets[bucket] = ((this.buckets[bucket] ?? 0) ^ entryHash(key, digest)) >>> 0;
    }
  }
}

/** The trees of every partition this node stores objects for. */
export class AntiEntropyTrees {
  private readonly trees = new Map<number, PartitionTree>();

  private tree(partition: number): PartitionTree {
    let t = this.trees.get(partition);
    if (t === undefined) {
      t = new PartitionTree();
      this.trees.set(partition, t);
    }
    return t;
  }

  /** Records the stored bytes of a key (null: the key is gone). */
  update(partition: number, key: string, bytes: Uint8Array | null): void {
    this.tree(partition).set(key, bytes === null ? null : digestOf(bytes));
  }

  digest(partition: number, key: string): number | undefined {
    return this.trees.get(partition)?.digests.get(key);
  }

  bucketHashes(partition: number): number[] {
    return [...(this.trees.get(partition)?.buckets ?? new Uint32Array(BUCKET_COUNT))];
  }

  root(partition: number): number {
    return fnv1a32(Uint8Array.from(this.bucketHashes(partition).flatMap((h) => [h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255])));
  }

  keyCount(partition: number): number {
    return this.trees.get(partition)?.digests.size ?? 0;
  }

  /** (key, digest) pairs of the given buckets, in key order. */
  keysInBuckets(partition: number, buckets: readonly number[]): [string, number][] {
    const wanted = new Set(buckets);
    const out: [string, number][] = [];
    for (const [key, d] of this.trees.get(partition)?.digests ?? []) if (wanted.has(bucketOf(key))) out.push([key, d]);
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Indices of the buckets whose hashes differ. */
export function differingBuckets(mine: readonly number[], theirs: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < BUCKET_COUNT; i++) if ((mine[i] ?? 0) !== (theirs[i] ?? 0)) out.push(i);
  return out;
}

/**
 * Keys whose digests differ between two sides (a key missing on one side differs), split into
 * what `mine` holds (to send) and what only `theirs` holds or holds differently (to ask for).
 * Capped at `limit` keys per exchange; the rest waits for the next round.
 */
export function differingKeys(
  mine: readonly (readonly [string, number])[],
  theirs: readonly (readonly [string, number])[],
  limit: number,
): { send: string[]; want: string[] } {
  const a = new Map(mine);
  const b = new Map(theirs);
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  const send: string[] = [];
  const want: string[] = [];
  let count = 0;
  for (const k of keys) {
    if (count >= limit) break;
    const da = a.get(k);
    const db = b.get(k);
    if (da === db) continue;
    count++;
    if (da !== undefined) send.push(k);
    if (db !== undefined) want.push(k);
  }
  return { send, want };
}
