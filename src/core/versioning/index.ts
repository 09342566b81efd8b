// Causal versioning, one import for the rest of the project: version vectors (vclock.ts),
// dotted version vector sets (dvvset.ts), teaching modes (modes.ts), the X-Mec-Vclock
// header codec (codec.ts, base64.ts) and the msgpack forms used between nodes (wire.ts).
export type * from "./types.ts";
export * from "./vclock.ts";
export * from "./dvvset.ts";
export * from "./modes.ts";
export * from "./codec.ts";
export * from "./base64.ts";
export * from "./wire.ts";
