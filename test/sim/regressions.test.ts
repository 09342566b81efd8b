// Replays sim/regressions.json: seeds (and schedules) that once failed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { BugName } from "../../src/core/types.ts";
import { parseSchedule, type FaultSchedule } from "../../sim/faults.ts";
import { mecdb } from "../../sim/mecdb.ts";
import { runSeed } from "../../sim/seeds.ts";

interface Entry {
  seed: number;
  bugs?: BugName[];
  schedule?: unknown;
  expect?: string;
  note: string;
}

const { entries } = JSON.parse(readFileSync("sim/regressions.json", "utf8")) as { entries: Entry[] };

describe("regression seeds", () => {
  for (const e of entries) {
    it(`seed ${e.seed}${e.bugs ? ` --bug ${e.bugs.join(",")}` : ""}${e.schedule ? " (schedule)" : ""}: ${e.expect ? `reports ${e.expect}` : "no violation"}`, () => {
      let schedule: FaultSchedule | undefined;
      if (e.schedule !== undefined) {
        const parsed = parseSchedule(JSON.stringify(e.schedule));
        if (typeof parsed === "string") throw new Error(parsed);
        schedule = parsed;
      }
      const o = runSeed(mecdb, e.seed, { ...(e.bugs ? { bugs: e.bugs } : {}), ...(schedule ? { schedule } : {}) });
      if (e.expect === undefined) expect(o.violations, e.note).toEqual([]);
      else expect(o.violations.map((v) => v.property), e.note).toContain(e.expect);
    }, 60_000);
  }
});
