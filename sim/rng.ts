// The simulator's seeded randomness is the project's one generator (src/core/random.ts,
// seedrandom's alea): every random choice of a run derives from the run seed through named
// sub-streams (`fork`), so adding a draw in one concern (say, the workload) does not shift the
// draws of another (the network). No Math.random here.

export { Rng, type RngState } from "../src/core/random.ts";

/** FNV-1a 32-bit hashes (labels of sub-streams, short trace digests): the core's, over UTF-8 bytes. */
export { fnv1a32 as fnv32, fnv1a32 as fnv32Bytes } from "../src/core/hash.ts";
