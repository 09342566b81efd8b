// The simulator's public API (the package's "mecdb/sim" export): run a seed or a swarm of
// seeds against MecDB's real node code, run a scenario file, and read what a seed draws.
export { mecdb } from "./mecdb.ts";
export { runSeed, replayCommand } from "./seeds.ts";
export type { SeedOptions, SeedOutcome } from "./seeds.ts";
export { runSeeds } from "./pool.ts";
export type { PoolOptions } from "./pool.ts";
export { drawWorld, describeWorld } from "./swarm.ts";
export type { SwarmWorld } from "./swarm.ts";
export { loadScenarioFile, parseScenario, runScenario, ScenarioError } from "./scenario.ts";
export type { Scenario, ScenarioResult } from "./scenario.ts";
