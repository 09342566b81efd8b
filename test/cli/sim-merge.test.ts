// `mec sim merge`: N shard processes (real `mec` child processes, run side by side) merged
// give the report of one run over the same seeds, in JSON and in text; reports that do not
// make up one run are refused with exit 2.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mecEntryArgs } from "../../src/cli/self.ts";
import { runMec } from "./run-mec.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `mec ARGS` as a child process; resolves with its exit code and output. */
function mec(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...mecEntryArgs(), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** The JSON report without the figures that depend on the machine's speed. */
function withoutTiming(json: string): Record<string, unknown> {
  const r = JSON.parse(json) as Record<string, unknown>;
  delete r["wallMs"];
  return r;
}

/** The text report without the wall-clock figures of its last line. */
const textWithoutTiming = (text: string): string => text.replace(/ in [\d.]+ s \([\d.-]+ seeds\/s\)/, " in T s");

// A planted bug makes seeds fail, so failures, replay commands and the shrink are compared too.
const RUN = ["sim", "--seeds", "5", "--bug", "lww", "--shrink-runs", "4", "--quiet"];
const SHARDS = 2;

afterEach(() => vi.restoreAllMocks());

describe("mec sim merge", () => {
  it("2 shard processes merged equal one run over the same seeds (JSON and text, timing aside)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mec-merge-"));
    const files = Array.from({ length: SHARDS }, (_, i) => join(dir, `shard-${i + 1}.json`));
    // The shards side by side, one worker each; the single run with as many workers (the merged report sums them).
    const [single, singleText, ...shards] = await Promise.all([
      mec([...RUN, "--workers", String(SHARDS), "--json"]),
      mec([...RUN, "--workers", String(SHARDS)]),
      ...files.map((_, i) => mec([...RUN, "--workers", "1", "--shard", `${i + 1}/${SHARDS}`, "--json"])),
    ]);
    expect(single!.code, single!.err).toBe(1);
    shards.forEach((s, i) => {
      expect(s.code, s.err).toBe(1);
      writeFileSync(files[i]!, s.out);
    });
    const one = JSON.parse(single!.out) as { seeds: number; failures: { seed: number; schedule?: unknown }[] };
    expect(one.seeds).toBe(5);
    expect(one.failures.length).toBeGreaterThan(1);
    expect(one.failures[0]!.schedule).toBeDefined(); // the first failure was shrunk
    // Each shard shrank its own first failure; the merged report keeps only the run's first.
    for (const f of files) expect((JSON.parse(readFileSync(f, "utf8")) as typeof one).failures[0]?.schedule).toBeDefined();

    const merged = await mec(["sim", "merge", "--json", ...[...files].reverse()]);
    expect(merged.code, merged.err).toBe(1);
    expect(withoutTiming(merged.out)).toEqual(withoutTiming(single!.out));
    const wall = (JSON.parse(merged.out) as { wallMs: number }).wallMs;
    expect(wall).toBe(Math.max(...shards.map((s) => (JSON.parse(s.out) as { wallMs: number }).wallMs)));

    const text = await mec(["sim", "merge", ...files]);
    expect(text.code, text.err).toBe(1);
    expect(textWithoutTiming(text.out)).toBe(textWithoutTiming(singleText!.out));
    expect(text.out).toContain("replay: npx mec sim --seed 2 --bug lww");
  }, 180_000);

  it("refuses a shard given twice, a missing shard, another run's shard and a non-report (exit 2, one line)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mec-merge-"));
    const report = (shard: { index: number; of: number } | null, over: Record<string, unknown> = {}): string => {
      const file = join(dir, `r-${shard?.index ?? 0}-${Object.keys(over).join("")}.json`);
      const seeds = shard === null ? 4 : Math.ceil((4 - (shard.index - 1)) / shard.of);
      writeFileSync(file, JSON.stringify({ seeds, failures: [], events: 10, simulatedMs: 100, wallMs: 5, first: 1, count: 4, shard, bugs: [], shrink: true, shrinkRuns: 100, workers: 1, version: "0.1.0", ...over }));
      return file;
    };
    const a = report({ index: 1, of: 2 });
    const b = report({ index: 2, of: 2 });
    const ok = await runMec("sim", "merge", "--json", b, a);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ seeds: 4, events: 20, simulatedMs: 200, wallMs: 5, shard: null, workers: 2 });

    const twice = await runMec("sim", "merge", a, a);
    expect(twice.code).toBe(2);
    expect(twice.err).toBe(`mec: overlapping shards: shard 1/2 is both ${a} and ${a}\n`);
    const missing = await runMec("sim", "merge", b);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe("mec: missing shards: 1/2 (got 1 of 2)\n");
    const other = report({ index: 2, of: 2 }, { bugs: ["lww"] });
    const differ = await runMec("sim", "merge", a, other);
    expect(differ.code).toBe(2);
    expect(differ.err).toMatch(/^mec: .* is from another run than .*: seeds 1\.\.4, bugs \[lww\].* vs seeds 1\.\.4, bugs \[\]/);
    const thirds = await runMec("sim", "merge", a, report({ index: 2, of: 3 }, { x: 1 }), report({ index: 3, of: 3 }, { y: 1 }));
    expect(thirds.code).toBe(2);
    expect(thirds.err).toContain("from another run");
    const wrongCount = await runMec("sim", "merge", a, report({ index: 2, of: 2 }, { seeds: 3 }));
    expect(wrongCount.err).toContain("reports 3 seeds, but shard 2/2 of 1..4 has 2");
    const oneSeed = join(dir, "one.json");
    writeFileSync(oneSeed, JSON.stringify({ seeds: 1, failures: [], events: 1, simulatedMs: 1, wallMs: 1, traceHash: "ab" }));
    const notMany = await runMec("sim", "merge", oneSeed);
    expect(notMany.code).toBe(2);
    expect(notMany.err).toMatch(/^mec: .*one\.json: not a report of mec sim --seeds COUNT --json: /);
    const garbage = join(dir, "garbage.json");
    writeFileSync(garbage, "{nope");
    expect((await runMec("sim", "merge", garbage)).err).toContain("not JSON");
    expect((await runMec("sim", "merge", join(dir, "absent.json"))).err).toContain("cannot read");
  });

  it("--help explains the merge with examples", async () => {
    const h = await runMec("help", "sim", "merge");
    expect(h.code).toBe(0);
    expect(h.out).toContain("mec sim merge s1.json s2.json");
    expect(h.out).toContain("wallMs = max");
  });
});
