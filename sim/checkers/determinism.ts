// Checker 6: same code + same seed = byte-identical trace. Not a function of one run: the
// caller (sim/seeds.ts) runs the seed twice with trace hashing on and hands both hashes here.
import type { Violation } from "./types.ts";

export function checkDeterminism(seed: number, firstHash: string, secondHash: string): Violation[] {
  if (firstHash === secondHash) return [];
  return [{ property: "determinism", detail: `seed ${seed} ran twice gave trace hashes ${firstHash.slice(0, 16)} and ${secondHash.slice(0, 16)}` }];
}
