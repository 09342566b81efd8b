// The ring's public API (see ring.ts for the theory of operation).
export { createRing, joinRing, leaveRing, partitionOf, preferenceList, ringMembers, DEFAULT_PARTITION_COUNT, MAX_PARTITION_COUNT } from "./ring.ts";
export type { Ring, PreferenceList } from "./ring.ts";
