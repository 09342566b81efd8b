// Runs many swarm seeds: in this thread, or spread over worker threads (node:worker_threads,
// one per core by default) that pull small batches so slow seeds do not leave cores idle.
// Results arrive in completion order; the caller sorts them by seed.
import { Worker } from "node:worker_threads";
import type { BugName } from "../src/core/types.ts";
import type { VersioningMode } from "../src/core/versioning/types.ts";
import type { Violation } from "./checkers/index.ts";
import type { FaultSchedule } from "./faults.ts";
import { runSeed, type SeedOutcome } from "./seeds.ts";
import type { SystemUnderTest } from "./sut.ts";
import type { WorkerBatch } from "./worker-main.ts";

/** A seed's outcome as it crosses from a worker thread: what the report needs, no trace or stats. */
type CompactOutcome = Pick<SeedOutcome, "seed" | "config" | "schedule" | "violations" | "events" | "simulatedMs" | "wallMs">;

export function compactOutcome(o: SeedOutcome): CompactOutcome {
  return { seed: o.seed, config: o.config, schedule: o.schedule, violations: o.violations, events: o.events, simulatedMs: o.simulatedMs, wallMs: o.wallMs };
}

export interface PoolOptions {
  readonly bugs: readonly BugName[];
  readonly mode?: VersioningMode;
  /** Worker threads; 0 or 1 runs in this thread. */
  readonly workers: number;
  /** Every seed divisible by this also runs twice to compare trace hashes (0: never). */
  readonly determinismEvery: number;
  /** Stop handing out seeds once this many have failed (seeds already handed out still finish). */
  readonly stopAfterFailures?: number;
  onResult?(outcome: CompactOutcome): void;
}

/** The worker entry in this module's form: from source through tsx (worker.mjs), or compiled. */
const WORKER_ENTRY = new URL(import.meta.url.endsWith(".ts") ? "./worker.mjs" : "./worker-main.js", import.meta.url);

export async function runSeeds(sut: SystemUnderTest, seeds: readonly number[], options: PoolOptions): Promise<CompactOutcome[]> {
  const results: CompactOutcome[] = [];
  let failed = 0;
  const stop = (): boolean => options.stopAfterFailures !== undefined && failed >= options.stopAfterFailures;
  if (options.workers <= 1 || seeds.length <= 1) {
    for (const seed of seeds) {
      if (stop()) break;
      const o = compactOutcome(
        runSeed(sut, seed, {
          bugs: options.bugs,
          ...(options.mode ? { mode: options.mode } : {}),
          determinism: options.determinismEvery > 0 && seed % options.determinismEvery === 0,
        }),
      );
      if (o.violations.length > 0) failed++;
      results.push(o);
      options.onResult?.(o);
      // Let the event loop breathe (progress bar, signals).
      if (results.length % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    return results;
  }
  const queue = [...seeds];
  const batchSize = Math.max(1, Math.min(8, Math.floor(seeds.length / (options.workers * 8))));
  const workerCount = Math.min(options.workers, seeds.length);
  await Promise.all(
    Array.from(
      { length: workerCount },
      () =>
        new Promise<void>((resolve, reject) => {
          const worker = new Worker(WORKER_ENTRY);
          const next = (): void => {
            const batch = queue.splice(0, batchSize);
            if (batch.length === 0 || stop()) {
              worker.postMessage(null);
              return;
            }
            const msg: WorkerBatch = { seeds: batch, bugs: options.bugs, mode: options.mode ?? null, determinismEvery: options.determinismEvery };
            worker.postMessage(msg);
          };
          worker.on("message", (m: CompactOutcome | { done: true }) => {
            if ("done" in m) {
              next();
              return;
            }
            if (m.violations.length > 0) failed++;
            results.push(m);
            options.onResult?.(m);
          });
          worker.on("error", reject);
          worker.on("exit", () => resolve());
          next();
        }),
    ),
  );
  return results;
}
