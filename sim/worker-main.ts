// Body of a swarm worker thread: receives batches of seeds, runs each with MecDB's node and
// posts back a compact outcome per seed (no history, no cluster: just what the report needs).
import { parentPort } from "node:worker_threads";
import type { BugName } from "../src/core/types.ts";
import type { VersioningMode } from "../src/core/versioning/types.ts";
import { mecdb } from "./mecdb.ts";
import { runSeed } from "./seeds.ts";
import { compactOutcome } from "./pool.ts";

export interface WorkerBatch {
  readonly seeds: readonly number[];
  readonly bugs: readonly BugName[];
  readonly mode: VersioningMode | null;
  readonly determinismEvery: number;
}

const port = parentPort;
if (port === null) throw new Error("worker-main.ts must run in a worker thread");
port.on("message", (batch: WorkerBatch | null) => {
  if (batch === null) {
    port.close();
    return;
  }
  for (const seed of batch.seeds) {
    const outcome = runSeed(mecdb, seed, {
      bugs: batch.bugs,
      ...(batch.mode ? { mode: batch.mode } : {}),
      determinism: batch.determinismEvery > 0 && seed % batch.determinismEvery === 0,
    });
    port.postMessage(compactOutcome(outcome));
  }
  port.postMessage({ done: true });
});
