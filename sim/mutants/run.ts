// `npm run mutants`: the mutation suite. Plants each mutant of sim/mutants/catalogue.ts, one at
// a time, in a temporary copy of the repository (node_modules symlinked; the working tree is
// never edited), runs the default swarm there through `mec sim --seeds K --json`, and the
// unit tests listed as its guards (mec runs from the sources: src/cli/dev.mjs when the
// package has a compiled bin), then prints per mutant: failing seeds / seeds run, the
// first failing seed, the properties that failed, the guards' verdict; and a score.
//
//   npm run mutants [-- --seeds K] [--workers W] [--only id,id] [--no-baseline] [--no-swarm] [--full] [--check] [--json]
// --check only verifies that every mutant's target text is found (no runs); --no-swarm runs
// only the guarding unit tests. A mutant's swarm stops once KILL_SEEDS seeds have failed
// (`mec sim --stop-after-failures`), so a killed mutant costs seconds: its line then says how
// many seeds ran until the KILL_SEEDS-th failure; --full runs every seed for every mutant.
// The baseline always runs every seed.
//
// A mutant is killed when the swarm fails at least KILL_SEEDS of the seeds run, or one of its
// guarding test files goes red. A mutant whose search text is no longer in its file (the code
// changed since it was written) is reported as "stale: target not found" and counts as
// neither killed nor escaped: re-target it. The unmutated copy runs first (the baseline): a
// failing baseline makes the swarm column meaningless, so it is printed before anything else.
// Exit code: 0 when every live mutant was killed, 1 otherwise, 2 on bad usage.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { MUTANTS, type Edit, type Mutant } from "./catalogue.ts";

/** A mutant is caught by the swarm when it fails at least this many of the seeds run. */
const KILL_SEEDS = 3;

const REPO = join(import.meta.dirname, "..", "..");

interface Options {
  seeds: number;
  workers: number;
  only: string[] | null;
  baseline: boolean;
  json: boolean;
  /** Only check that every target is found (no runs). */
  check: boolean;
  /** Run only the guarding tests, not the swarm. */
  swarm: boolean;
  /** Run every seed even after KILL_SEEDS failures. */
  full: boolean;
}

interface SwarmOutcome {
  seedsRun: number;
  /** The seeds the run was asked for (more than seedsRun when it stopped early). */
  seedsPlanned: number;
  /** The run stopped after KILL_SEEDS failing seeds. */
  stopped: boolean;
  failingSeeds: number;
  firstFailingSeed: number | null;
  /** Property (of each failing seed's first violation) -> number of seeds. */
  properties: Record<string, number>;
  wallMs: number;
  error?: string;
}

interface TestFileOutcome {
  file: string;
  red: boolean;
  summary: string;
  /** The names of the failing tests (vitest's FAIL lines), so a red that is not the guard's own test shows. */
  failed: string[];
}

interface TestOutcome {
  /** Each guarding file, run on its own so the report says which one went red. */
  files: TestFileOutcome[];
  red: boolean;
  wallMs: number;
}

type Status = "killed" | "weak" | "escaped" | "stale" | "ambiguous" | "not-run";

interface MutantReport {
  id: string;
  area: string;
  file: string;
  description: string;
  status: Status;
  killedBy: ("swarm" | "tests")[];
  swarm: SwarmOutcome | null;
  tests: TestOutcome | null;
  note?: string;
  /** Why the swarm was not run, when it was not. */
  swarmSkipped?: string;
  wallMs: number;
}

function usage(message: string): never {
  process.stderr.write(`mutants: ${message}\nusage: npm run mutants [-- --seeds K] [--workers W] [--only id,id] [--no-baseline] [--no-swarm] [--full] [--check] [--json]\n`);
  process.exit(2);
}

function parseArgs(argv: readonly string[]): Options {
  const opts: Options = { seeds: 1000, workers: availableParallelism(), only: null, baseline: true, json: false, check: false, swarm: true, full: false };
  const int = (name: string, v: string | undefined): number => {
    if (v === undefined || !/^\d+$/.test(v) || Number(v) < 1) usage(`${name} needs a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--seeds") opts.seeds = int(a, argv[++i]);
    else if (a === "--workers") opts.workers = int(a, argv[++i]);
    else if (a === "--only") opts.only = (argv[++i] ?? usage("--only needs a list of mutant ids")).split(",").filter((s) => s !== "");
    else if (a === "--no-baseline") opts.baseline = false;
    else if (a === "--json") opts.json = true;
    else if (a === "--check") opts.check = true;
    else if (a === "--no-swarm") opts.swarm = false;
    else if (a === "--full") opts.full = true;
    else usage(`unknown argument ${JSON.stringify(a)}`);
  }
  const known = new Set(MUTANTS.map((m) => m.id));
  for (const id of opts.only ?? []) if (!known.has(id)) usage(`unknown mutant ${JSON.stringify(id)}; known: ${[...known].join(", ")}`);
  return opts;
}

/** The repository's tracked and untracked (not ignored) files, copied; node_modules symlinked. */
function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "mec-mutants-"));
  const listed = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: REPO, encoding: "utf8" });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const rel of listed.stdout.split("\0")) {
    if (rel === "") continue;
    try {
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      cpSync(join(REPO, rel), join(dir, rel), { recursive: false, force: true });
    } catch (e) {
      // A file listed by git but deleted in the working tree: nothing to copy.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
  symlinkSync(join(REPO, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

function countOccurrences(text: string, search: string): number {
  let n = 0;
  for (let i = text.indexOf(search); i >= 0; i = text.indexOf(search, i + search.length)) n++;
  return n;
}

/** `mec` from the TypeScript sources (the mutated ones), never a compiled build of them. */
function mecFromSource(copy: string): string {
  return existsSync(join(copy, "src", "cli", "dev.mjs")) ? "src/cli/dev.mjs" : "bin/mec.js";
}

function runSwarm(copy: string, opts: Options, stopEarly: boolean): SwarmOutcome {
  const started = performance.now();
  const stop = stopEarly && !opts.full ? ["--stop-after-failures", String(KILL_SEEDS)] : [];
  const r = spawnSync(
    process.execPath,
    [mecFromSource(copy), "sim", "--seeds", String(opts.seeds), "--workers", String(opts.workers), "--json", "--no-shrink", ...stop],
    { cwd: copy, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  const wallMs = Math.round(performance.now() - started);
  const lastLine = r.stdout.trim().split("\n").pop() ?? "";
  type SimJson = { seeds: number; stopped?: boolean; failures: { seed: number; property: string }[] };
  let parsed: SimJson | null = null;
  try {
    parsed = JSON.parse(lastLine) as SimJson;
  } catch {
    parsed = null;
  }
  if (parsed === null || typeof parsed.seeds !== "number") {
    // The swarm itself could not run (the mutant broke loading, or a worker crashed): every
    // seed counts as failed, with the error as the property, so it is visible, not hidden.
    const lines = (r.stderr || r.stdout || `exit ${r.status}`).trim().split("\n");
    const error = (lines.find((l) => /Error|assert/i.test(l)) ?? lines.slice(-3).join(" | ")).trim();
    return { seedsRun: opts.seeds, seedsPlanned: opts.seeds, stopped: false, failingSeeds: opts.seeds, firstFailingSeed: 1, properties: { "swarm-crashed": opts.seeds }, wallMs, error };
  }
  const properties: Record<string, number> = {};
  for (const f of parsed.failures) properties[f.property] = (properties[f.property] ?? 0) + 1;
  const first = parsed.failures.reduce<number | null>((m, f) => (m === null || f.seed < m ? f.seed : m), null);
  return { seedsRun: parsed.seeds, seedsPlanned: opts.seeds, stopped: parsed.stopped === true, failingSeeds: parsed.failures.length, firstFailingSeed: first, properties, wallMs };
}

function runTests(copy: string, mutant: Mutant): TestOutcome | null {
  if ((mutant.tests ?? []).length === 0) return null;
  const started = performance.now();
  const files: TestFileOutcome[] = [];
  for (const file of mutant.tests ?? []) {
    const args = ["node_modules/vitest/vitest.mjs", "run", file];
    if (mutant.testFilter !== undefined) args.push("-t", mutant.testFilter);
    const r = spawnSync(process.execPath, args, { cwd: copy, encoding: "utf8", maxBuffer: 64 * 1024 * 1024, env: { ...process.env, CI: "1", NO_COLOR: "1" } });
    const out = `${r.stdout}\n${r.stderr}`;
    const failed = [...new Set([...out.matchAll(/FAIL\s+(.+?)\s*$/gm)].map((m) => m[1]!.trim()))].slice(0, 10);
    files.push({ file, red: r.status !== 0, summary: /Tests\s+([^\n]+)/.exec(out)?.[1]?.trim() ?? `exit ${r.status}`, failed });
  }
  return { files, red: files.some((f) => f.red), wallMs: Math.round(performance.now() - started) };
}

/** Plants every edit of a mutant; returns the originals to restore, or why it cannot be planted. */
function plant(copy: string, mutant: Mutant): { restore: [string, string][] } | { note: string; status: "stale" | "ambiguous" } {
  const edits: Edit[] = [mutant, ...(mutant.also ?? [])];
  const texts = new Map<string, string>();
  for (const e of edits) {
    const path = join(copy, e.file);
    if (!texts.has(path)) {
      try {
        texts.set(path, readFileSync(path, "utf8"));
      } catch {
        return { status: "stale", note: `stale: file ${e.file} not found` };
      }
    }
    const n = countOccurrences(texts.get(path)!, e.search);
    if (n === 0) return { status: "stale", note: `stale: target not found in ${e.file}: ${JSON.stringify(e.search.slice(0, 80))}` };
    if (n > 1) return { status: "ambiguous", note: `ambiguous: target found ${n} times in ${e.file} (make the search text unique)` };
  }
  const restore: [string, string][] = [...texts.entries()];
  for (const e of edits) {
    const path = join(copy, e.file);
    texts.set(path, texts.get(path)!.replace(e.search, () => e.replace));
  }
  for (const [path, text] of texts) writeFileSync(path, text);
  return { restore };
}

function runMutant(copy: string, mutant: Mutant, opts: Options): MutantReport {
  const started = performance.now();
  const base: Omit<MutantReport, "status" | "wallMs"> = {
    id: mutant.id, area: mutant.area, file: mutant.file, description: mutant.description, killedBy: [], swarm: null, tests: null,
  };
  const planted = plant(copy, mutant);
  if (!("restore" in planted)) return { ...base, status: planted.status, note: planted.note, wallMs: 0 };
  try {
    if (opts.check) return { ...base, status: "escaped", note: "target found (--check: not run)", wallMs: 0 };
    const swarm = mutant.swarm === false || !opts.swarm ? null : runSwarm(copy, opts, true);
    const tests = runTests(copy, mutant);
    if (swarm === null && tests === null) return { ...base, status: "not-run", note: "not run: no guarding tests, and --no-swarm", wallMs: 0 };
    const killedBy: ("swarm" | "tests")[] = [];
    if (swarm !== null && swarm.failingSeeds >= KILL_SEEDS) killedBy.push("swarm");
    if (tests?.red === true) killedBy.push("tests");
    const status: Status = killedBy.length > 0 ? "killed" : (swarm?.failingSeeds ?? 0) > 0 ? "weak" : "escaped";
    const swarmSkipped = swarm !== null ? undefined : mutant.swarm === false ? "judged by its tests only" : "--no-swarm";
    return { ...base, status, killedBy, swarm, tests, ...(swarmSkipped ? { swarmSkipped } : {}), wallMs: Math.round(performance.now() - started) };
  } finally {
    for (const [path, text] of planted.restore) writeFileSync(path, text);
  }
}

function describeSwarm(s: SwarmOutcome | null, swarmSkipped = "judged by its tests only"): string {
  if (s === null) return `swarm: not run (${swarmSkipped})`;
  const props = Object.entries(s.properties).sort((a, b) => b[1] - a[1]).map(([p, c]) => `${p}=${c}`).join(" ");
  const first = s.firstFailingSeed === null ? "" : ` first=${s.firstFailingSeed}`;
  const run = s.stopped ? `${s.failingSeeds}/${s.seedsRun} seeds failing (stopped once ${KILL_SEEDS} had failed: ${s.seedsRun} of ${s.seedsPlanned} seeds run)` : `${s.failingSeeds}/${s.seedsRun} seeds failing`;
  return `swarm: ${run}${first}${props ? ` [${props}]` : ""} (${(s.wallMs / 1000).toFixed(0)} s)${s.error ? ` error: ${s.error}` : ""}`;
}

function describeTests(t: TestOutcome | null): string {
  if (t === null) return "";
  const files = t.files.map((f) => `${f.file} ${f.red ? "RED" : "green"} (${f.summary})${f.failed.length > 0 ? `\n      failed: ${f.failed.join("\n      failed: ")}` : ""}`);
  return `tests: ${files.join("\n           ")}`;
}

function line(r: MutantReport): string {
  const verdict = r.status === "killed" ? `KILLED by ${r.killedBy.join("+")}` : r.status.toUpperCase();
  const head = `${verdict.padEnd(22)} ${r.id} (${r.area}, ${r.file})`;
  if (r.note !== undefined) return `${head}\n    ${r.note}`;
  return [head, `    ${describeSwarm(r.swarm, r.swarmSkipped)}`, ...(r.tests ? [`    ${describeTests(r.tests)}`] : [])].join("\n");
}

function main(): number {
  const opts = parseArgs(process.argv.slice(2));
  // --only runs the mutants in the order given.
  const chosen = opts.only === null ? MUTANTS : opts.only.map((id) => MUTANTS.find((m) => m.id === id)!);
  // With --json the report lines go to stderr (progress), the JSON object alone to stdout.
  const log = (s: string): void => {
    (opts.json ? process.stderr : process.stdout).write(s + "\n");
  };
  const started = performance.now();
  const copy = makeCopy();
  copyDir = copy;
  try {
    log(`mutants: ${chosen.length}, seeds ${opts.seeds} (1..${opts.seeds}), workers ${opts.workers}, copy ${copy}`);
    let baseline: SwarmOutcome | null = null;
    if (opts.baseline && opts.swarm && !opts.check) {
      baseline = runSwarm(copy, opts, false);
      log(`baseline (no mutant): ${describeSwarm(baseline).replace(/^swarm: /, "")}`);
    }
    const reports: MutantReport[] = [];
    for (const m of chosen) {
      const r = runMutant(copy, m, opts);
      reports.push(r);
      if (!opts.check) log(line(r));
    }
    if (opts.check) {
      const bad = reports.filter((r) => r.status === "stale" || r.status === "ambiguous");
      for (const r of bad) log(`${r.status.toUpperCase()} ${r.id}: ${r.note ?? ""}`);
      log(`${reports.length - bad.length}/${reports.length} mutants' targets found`);
      if (opts.json) process.stdout.write(JSON.stringify({ targetsFound: reports.length - bad.length, total: reports.length, stale: bad.map((r) => ({ id: r.id, note: r.note })) }) + "\n");
      return bad.length === 0 ? 0 : 1;
    }
    const live = reports.filter((r) => r.status !== "stale" && r.status !== "ambiguous" && r.status !== "not-run");
    const killed = live.filter((r) => r.status === "killed");
    const bySwarm = live.filter((r) => r.killedBy.includes("swarm"));
    const swarmRun = live.filter((r) => r.swarm !== null);
    const testsOnly = killed.filter((r) => !r.killedBy.includes("swarm"));
    const stale = reports.filter((r) => r.status === "stale" || r.status === "ambiguous");
    const wallMs = Math.round(performance.now() - started);
    const summary = {
      score: `${killed.length}/${live.length}`,
      killed: killed.length,
      live: live.length,
      swarmScore: `${bySwarm.length}/${swarmRun.length}`,
      killedOnlyByTests: testsOnly.map((r) => r.id),
      weak: live.filter((r) => r.status === "weak").map((r) => r.id),
      escaped: live.filter((r) => r.status === "escaped").map((r) => r.id),
      stale: stale.map((r) => `${r.id}: ${r.note ?? ""}`),
    };
    log("");
    log(`score: ${summary.score} killed (a mutant is killed by >= ${KILL_SEEDS} failing seeds of ${opts.seeds}, or a red guarding test${opts.full ? "" : `; a swarm stops after ${KILL_SEEDS} failing seeds`})`);
    log(`swarm alone: ${summary.swarmScore} of the mutants it ran on`);
    if (testsOnly.length > 0) log(`killed only by unit tests: ${summary.killedOnlyByTests.join(", ")}`);
    if (summary.weak.length > 0) log(`weak (1-${KILL_SEEDS - 1} failing seeds, no red test): ${summary.weak.join(", ")}`);
    if (summary.escaped.length > 0) log(`escaped: ${summary.escaped.join(", ")}`);
    if (stale.length > 0) log(`STALE (re-target these): ${summary.stale.join("; ")}`);
    log(`wall time: ${(wallMs / 1000).toFixed(0)} s`);
    if (opts.json) process.stdout.write(JSON.stringify({ seeds: opts.seeds, workers: opts.workers, killSeeds: KILL_SEEDS, baseline, mutants: reports, ...summary, wallMs }) + "\n");
    return killed.length === live.length && stale.length === 0 ? 0 : 1;
  } finally {
    rmSync(copy, { recursive: true, force: true });
    copyDir = null;
  }
}

/** The temporary copy, removed on exit and on Ctrl-C. */
let copyDir: string | null = null;
process.on("SIGINT", () => {
  if (copyDir !== null) rmSync(copyDir, { recursive: true, force: true });
  process.exit(130);
});
process.exitCode = main();
