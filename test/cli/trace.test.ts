// `mec trace svg|shiviz` and the simulator's --svg / --without, in-process: files written,
// exit codes (0 ok; 1 the violation stays; 2 bad input), names in the output.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runMec } from "./run-mec.ts";

const run = runMec;

const dir = mkdtempSync(join(tmpdir(), "mec-trace-cli-"));
const fixture = join(import.meta.dirname, "..", "sim", "viz", "fixtures", "concurrent-writes.jsonl");
// Planted bug ack-before-durable, seed 1: one outage of n3 loses an acknowledged write.
const OUTAGE = '{"dropRate":0,"dupRate":0,"episodes":[{"atMs":0,"durMs":50,"kind":"outage","node":"n3","aimed":true}]}';

describe("mec trace", () => {
  it("svg: writes the diagram, with --key / --nodes / window options", async () => {
    const out = join(dir, "a.svg");
    const r = await run("trace", "svg", fixture, "-o", out, "--key", "cart", "--nodes", "n1,n2", "--from-ms", "300", "--to-ms", "320");
    expect(r.code).toBe(0);
    const svg = readFileSync(out, "utf8");
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain(">n2</text>");
    expect(svg).not.toContain(">n3</text>");
  });

  it("shiviz: writes the log", async () => {
    const out = join(dir, "a.log");
    expect((await run("trace", "shiviz", fixture, "-o", out)).code).toBe(0);
    expect(readFileSync(out, "utf8").split("\n")[0]).toContain("(?<host>");
  });

  it("bad input: exit 2 with one line naming the problem", async () => {
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, "{nope\n");
    const a = await run("trace", "svg", bad, "-o", join(dir, "x.svg"));
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/bad\.jsonl: trace line 1: not JSON/);
    expect((await run("trace", "svg", join(dir, "missing.jsonl"), "-o", join(dir, "x.svg"))).code).toBe(2);
    expect((await run("trace", "svg", fixture, "-o", join(dir, "x.svg"), "--nodes", "n9")).err).toMatch(/no node "n9"/);
    expect((await run("trace", "svg", fixture, "-o", join(dir, "x.svg"), "--from-ms", "abc")).code).toBe(2);
  });
});

describe("mec sim --svg / --without", () => {
  it("--svg writes the diagram of a failing run directly, and the schedule names nodes", async () => {
    const out = join(dir, "fail.svg");
    const r = await run("sim", "--seed", "1", "--bug", "ack-before-durable", "--schedule", OUTAGE, "--no-shrink", "--svg", out);
    expect(r.code).toBe(1);
    expect(r.out).toContain('"node":"n3","aimed":true');
    expect(r.out).toContain("e1 outage n3");
    const svg = readFileSync(out, "utf8");
    expect(svg).toContain("lost-write");
    expect(svg).toContain("seed 1");
  });

  it("--without e1: the violation disappears without the outage, side by side (exit 0)", async () => {
    // Seed 13: the planted bug shows only with the outage (in seed 1 it also shows as a stale read without it).
    const r = await run("sim", "--seed", "13", "--bug", "ack-before-durable", "--schedule", OUTAGE, "--without", "e1");
    expect(r.code).toBe(0);
    const lines = r.out.split("\n");
    const row = lines.find((l) => l.includes("VIOLATION lost-write"))!;
    expect(row).toMatch(/\| no violation$/);
    expect(r.out).toContain("=> the violation disappears without e1 outage n3");
  });

  it("--shift and bad episode references", async () => {
    const moved = await run("sim", "--seed", "1", "--bug", "ack-before-durable", "--schedule", OUTAGE, "--shift", "e1:+20", "--json");
    const j = JSON.parse(moved.out.trim().split("\n").pop()!) as { change: string; outcome: string };
    expect(j.change).toMatch(/moved \+20 ms/);
    expect(["disappears", "remains"]).toContain(j.outcome);
    expect((await run("sim", "--seed", "1", "--schedule", OUTAGE, "--without", "e5")).code).toBe(2);
    expect((await run("sim", "--seed", "1", "--without", "x")).code).toBe(2);
    expect((await run("sim", "--seeds", "3", "--without", "e1")).code).toBe(2);
  });
});
