// `mec sim` end to end, in-process: the JSON contract, exit codes (0 / 1 / 2), the replay
// command, shrinking, sharding, and --trace.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runMec, type MecRun } from "./run-mec.ts";

const run = (...argv: string[]): Promise<MecRun> => runMec("sim", ...argv);

afterEach(() => vi.restoreAllMocks());

describe("mec sim", () => {
  it("one seed: prints the seed and configuration first, exit 0, same trace hash each time", async () => {
    const a = await run("--seed", "3");
    expect(a.code).toBe(0);
    const lines = a.out.split("\n");
    expect(lines[0]).toBe("seed=3");
    expect(lines[1]).toMatch(/^config: nodes=\d n=\d r=\d w=\d mode=dvv/);
    const j1 = JSON.parse((await run("--seed", "3", "--json")).out) as Record<string, unknown>;
    const j2 = JSON.parse((await run("--seed", "3", "--json")).out) as Record<string, unknown>;
    expect(Object.keys(j1).sort()).toEqual(["events", "failures", "seeds", "simulatedMs", "traceHash", "wallMs"]);
    expect(j1["seeds"]).toBe(1);
    expect(j1["failures"]).toEqual([]);
    expect(j1["traceHash"]).toBe(j2["traceHash"]);
    expect(j1["events"]).toBeGreaterThan(1000);
  }, 60_000);

  it("a planted bug: exit 1, the property, a shrunk schedule and replay commands that reproduce it", async () => {
    const r = await run("--seed", "1", "--bug", "lww", "--json", "--shrink-runs", "60");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { failures: { seed: number; property: string; detail: string; replay: string; schedule?: { episodes: unknown[]; dropRate: number }; shrunkReplay?: string }[] };
    const f = j.failures[0]!;
    expect(f.seed).toBe(1);
    expect(f.property).toBe("lost-write");
    expect(f.replay).toBe("npx mec sim --seed 1 --bug lww");
    // last-writer-wins loses writes with hardly any fault: the schedule shrinks to (almost) nothing
    expect(f.schedule?.episodes.length).toBeLessThanOrEqual(2);
    expect(f.schedule?.dropRate).toBe(0);
    // the shrunk schedule still fails when replayed
    const m = /--schedule '(.*)'$/.exec(f.shrunkReplay ?? "");
    expect(m).not.toBeNull();
    const again = await run("--seed", "1", "--bug", "lww", "--schedule", m![1]!, "--no-shrink", "--json");
    expect(again.code).toBe(1);
    expect((JSON.parse(again.out) as { failures: { property: string }[] }).failures[0]?.property).toBe("lost-write");
  }, 90_000);

  it("many seeds on workers, shards partition the range, --json is one object", async () => {
    const all = JSON.parse((await run("--seeds", "6", "--workers", "2", "--json")).out) as { seeds: number; failures: unknown[]; events: number };
    expect(all.seeds).toBe(6);
    expect(all.failures).toEqual([]);
    const s1 = JSON.parse((await run("--seeds", "6", "--shard", "1/2", "--workers", "1", "--json")).out) as { seeds: number; events: number };
    const s2 = JSON.parse((await run("--seeds", "6", "--shard", "2/2", "--workers", "1", "--json")).out) as { seeds: number; events: number };
    expect(s1.seeds + s2.seeds).toBe(6);
    expect(s1.events + s2.events).toBe(all.events);
  }, 90_000);

  it("--stop-after-failures N stops handing out seeds once N failed, and says how many ran", async () => {
    const r = await run("--seeds", "8", "--bug", "lww", "--workers", "1", "--stop-after-failures", "1", "--no-shrink", "--json");
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { seeds: number; planned: number; stopped: boolean; failures: { seed: number }[] };
    expect(j).toMatchObject({ seeds: 1, planned: 8, stopped: true });
    expect(j.failures.map((f) => f.seed)).toEqual([1]);
    expect((await run("--seed", "1", "--stop-after-failures", "1")).err).toContain("--stop-after-failures applies to a swarm");
  }, 60_000);

  it("--trace writes one JSON line per event", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mec-sim-"));
    const file = join(dir, "trace.jsonl");
    expect((await run("--seed", "4", "--trace", file)).code).toBe(0);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(1000);
    const evs = new Set(lines.map((l) => (JSON.parse(l) as { ev: string; t: number }).ev));
    for (const ev of ["run", "boot", "send", "deliver", "timer", "storage-op", "storage-done", "invoke", "complete", "node-event"]) expect(evs).toContain(ev);
  }, 60_000);

  it("bad usage and bad scenario files exit 2 with a message naming the problem", async () => {
    const bug = await run("--seed", "1", "--bug", "nope");
    expect(bug.code).toBe(2);
    expect(bug.err).toContain("--bug must be one of");
    expect((await run("--seed", "x")).code).toBe(2);
    expect((await run("--seeds", "3", "--shard", "4/3")).err).toContain("--shard");
    expect((await run("--seed", "1", "--schedule", "{nope")).err).toContain("--schedule is not JSON");
    const dir = mkdtempSync(join(tmpdir(), "mec-sim-"));
    const bad = join(dir, "bad.toml");
    writeFileSync(bad, 'name = "bad"\n[cluster]\nnodes = 3\nreplicas = 2\n');
    const r = await run("--scenario", bad);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`mec: ${bad}: key "cluster.replicas": unknown key (known keys: nodes, n, r, w, mode, partitions, bugs, spares)\n`);
  }, 30_000);

  it("a scenario: passes (exit 0), and its expectation of a lesson holds", async () => {
    const ok = await run("--scenario", "scenarios/lww_loses_acknowledged_writes.toml");
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("expected violation lost-write");
    const kv = await run("--scenario", "scenarios/data_wipe_kv679.toml", "--bug", "counter-reset", "--json");
    expect(kv.code).toBe(1);
    expect((JSON.parse(kv.out) as { failures: { property: string }[] }).failures.map((f) => f.property)).toContain("unique-dots");
  }, 30_000);
});
