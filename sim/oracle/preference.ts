// The oracle's own preference-list model: where a key lives, computed without the ring code
// under test. The claim table (which node owns which partition) is cluster state, as a Riak
// ring is gossiped state, so it is taken as data (SystemUnderTest.ringOwners); the key hash
// and the walk are re-derived here from their definitions: partition = floor(fmix32(FNV-1a
// (utf-8 key)) * P / 2^32), and the preference list walks partitions p, p+1, ... collecting
// distinct owners: the first N are the primaries, every other member once the fallbacks.
// test/sim/oracle.test.ts property-tests it against src/core/ring.
import type { NodeId } from "../../src/core/types.ts";

const utf8 = new TextEncoder();

/** FNV-1a over bytes, as the oracle states the ring's hash (shared by the oracle's models). */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return h >>> 0;
}

/** MurmurHash3's 32-bit finaliser. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function keyPartition(key: string, partitionCount: number): number {
  return Math.floor((fmix32(fnv1a(utf8.encode(key))) * partitionCount) / 2 ** 32);
}

export interface Preference {
  readonly primaries: readonly NodeId[];
  readonly fallbacks: readonly NodeId[];
}

export function preferenceOf(owners: readonly NodeId[], n: number, key: string): Preference {
  return partitionPreference(owners, n, keyPartition(key, owners.length));
}

export function partitionPreference(owners: readonly NodeId[], n: number, p: number): Preference {
  const walk: NodeId[] = [];
  for (let i = 0; i < owners.length; i++) {
    const owner = owners[(p + i) % owners.length]!;
    if (!walk.includes(owner)) walk.push(owner);
  }
  return { primaries: walk.slice(0, n), fallbacks: walk.slice(n) };
}

/** A memoizing view for one run. */
export class PreferenceModel {
  private readonly cache = new Map<string, Preference>();
  constructor(
    private readonly owners: readonly NodeId[],
    private readonly n: number,
  ) {}

  of(key: string): Preference {
    let p = this.cache.get(key);
    if (p === undefined) {
      p = preferenceOf(this.owners, this.n, key);
      this.cache.set(key, p);
    }
    return p;
  }
}
