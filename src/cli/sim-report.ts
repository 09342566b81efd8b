// The report of a many-seed `mec sim --seeds COUNT` run: its JSON shape, its text form, and
// `mec sim merge`, which joins the reports of the N shards of one run (`--shard I/N` on N
// machines) into the report a single run over the same seeds prints. The text of a report is
// printed from the report alone (nothing else is needed), so a merged report and a single run
// print the same lines; only the timing differs (see mergeReports).
import { readFileSync } from "node:fs";
import { UsageError } from "./errors.ts";

/** One failing seed, as the JSON report lists it. */
export interface SeedFailure {
  seed: number;
  property: string;
  detail: string;
  /** The command that replays the seed. */
  replay: string;
  /** The drawn configuration (as `config:` prints it). */
  config?: string;
  /** Fault episodes in the seed's own schedule. */
  episodes?: number;
  /** The shrunk schedule (only on the first failure, the one that was shrunk). */
  schedule?: unknown;
  shrunkReplay?: string;
}

/** What `mec sim --seeds COUNT [--shard I/N] --json` prints (one object). */
export interface ManySeedsReport {
  /** Seeds this report covers (a shard's share of the range). */
  seeds: number;
  failures: SeedFailure[];
  /** Simulator events, summed over the seeds. */
  events: number;
  /** Simulated time, summed over the seeds. */
  simulatedMs: number;
  /** Wall-clock time of the run (of a merged report: its slowest shard's). */
  wallMs: number;
  /** The seed range of the whole run: first..first+count-1. */
  first: number;
  count: number;
  /** This report's slice of the range; null for the whole range (an unsharded or a merged run). */
  shard: { index: number; of: number } | null;
  bugs: string[];
  /** Shrinking of the first failure: off, or its step budget. */
  shrink: boolean;
  shrinkRuns: number;
  /** Worker threads (of a merged report: summed over the shards). */
  workers: number;
  /** The version of mec that ran it (shards of different versions do not merge). */
  version: string;
  /** With --stop-after-failures: the seeds asked for, and whether the run stopped before them all (then `seeds` counts those run). */
  planned?: number;
  stopped?: boolean;
}

/** The seeds of first..first+count-1 that shard index/of runs: positions congruent to index-1 modulo of. */
export function shardSeeds(first: number, count: number, shard: { index: number; of: number } | null): number[] {
  const seeds = Array.from({ length: count }, (_, i) => first + i);
  return shard === null ? seeds : seeds.filter((_, i) => i % shard.of === shard.index - 1);
}

/** Failures printed in full; the rest are counted. */
const FAILURES_SHOWN = 20;

/** The first line of the text report. */
export function headerLine(r: ManySeedsReport): string {
  const shard = r.shard ? `, shard ${r.shard.index}/${r.shard.of}` : "";
  return `seeds=${r.seeds} (${r.first}..${r.first + r.count - 1}${shard}) workers=${r.workers}${r.bugs.length ? ` bugs=${r.bugs.join(",")}` : ""}`;
}

/** The failing seeds, with their configuration and replay command. */
export function failureLines(r: ManySeedsReport): string[] {
  const lines: string[] = [];
  for (const f of r.failures.slice(0, FAILURES_SHOWN)) {
    lines.push(`seed=${f.seed} VIOLATION ${f.property}: ${f.detail}`, `  config: ${f.config ?? ""}`, `  replay: ${f.replay}`);
  }
  if (r.failures.length > FAILURES_SHOWN) lines.push(`... and ${r.failures.length - FAILURES_SHOWN} more failing seeds`);
  return lines;
}

/** True when the run shrinks this (first) failure's schedule. */
export function shrinks(r: ManySeedsReport, f: SeedFailure | undefined): f is SeedFailure {
  return f !== undefined && r.shrink && f.property !== "determinism";
}

export function shrinkingLine(r: ManySeedsReport, f: SeedFailure): string {
  return `shrinking seed ${f.seed} (${f.episodes ?? 0} episodes, up to ${r.shrinkRuns} runs)...`;
}

/** The shrink's result (nothing when shrinking found no failing schedule). */
export function shrunkLines(f: SeedFailure): string[] {
  if (f.shrunkReplay === undefined) return [];
  return [`shrunk schedule: ${JSON.stringify(f.schedule)}`, `replay the shrunk schedule: ${f.shrunkReplay}`];
}

export function summaryLine(r: ManySeedsReport): string {
  const rate = r.wallMs > 0 ? ((r.seeds * 1000) / r.wallMs).toFixed(1) : "-";
  return `${r.seeds} seeds, ${r.failures.length} failing, ${r.events} events, ${(r.simulatedMs / 1000).toFixed(0)} s simulated in ${(r.wallMs / 1000).toFixed(1)} s (${rate} seeds/s)`;
}

/** The whole text report, as a run prints it (the run prints the shrinking line before it shrinks). */
export function reportLines(r: ManySeedsReport): string[] {
  const lines = [headerLine(r), ...failureLines(r)];
  const first = r.failures[0];
  if (shrinks(r, first)) lines.push(shrinkingLine(r, first), ...shrunkLines(first));
  lines.push(summaryLine(r));
  return lines;
}

// ---- merging ----

/** Reads and checks one shard report; UsageError naming the file otherwise. */
export function readReport(path: string): ManySeedsReport {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${path}: cannot read: ${(e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${path}: not JSON (expected the output of mec sim --seeds COUNT --shard I/N --json)`);
  }
  const problem = reportProblem(v);
  if (problem !== null) throw new UsageError(`${path}: not a report of mec sim --seeds COUNT --json: ${problem}`);
  return v as ManySeedsReport;
}

const isInt = (x: unknown, min: number): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= min;

function reportProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not an object";
  const r = v as Record<string, unknown>;
  for (const k of ["seeds", "events", "wallMs", "count", "workers", "shrinkRuns"] as const) if (!isInt(r[k], 0)) return `"${k}" is not a non-negative integer`;
  if (typeof r.simulatedMs !== "number" || !(r.simulatedMs >= 0) || !Number.isFinite(r.simulatedMs)) return `"simulatedMs" is not a non-negative number`;
  if (!isInt(r["first"], 0)) return `"first" is missing (a report of one seed or a scenario, or of an older mec?)`;
  if (typeof r["version"] !== "string") return `"version" is not a string`;
  if (typeof r["shrink"] !== "boolean") return `"shrink" is not a boolean`;
  if (!Array.isArray(r["bugs"]) || !r["bugs"].every((b) => typeof b === "string")) return `"bugs" is not a list of names`;
  const s = r["shard"];
  if (s !== null) {
    const sh = s as Record<string, unknown>;
    if (typeof s !== "object" || !isInt(sh["of"], 1) || !isInt(sh["index"], 1) || (sh["index"] as number) > (sh["of"] as number)) return `"shard" is not null or {index, of} with 1 <= index <= of`;
  }
  if (!Array.isArray(r["failures"])) return `"failures" is not a list`;
  for (const f of r["failures"] as unknown[]) {
    const x = f as Record<string, unknown>;
    if (typeof f !== "object" || f === null || !isInt(x["seed"], 0) || typeof x["property"] !== "string" || typeof x["replay"] !== "string") return "a failure lacks seed, property or replay";
  }
  return null;
}

/** What every shard of one run must agree on. */
function runConfig(r: ManySeedsReport): string {
  return `seeds ${r.first}..${r.first + r.count - 1}, bugs [${r.bugs.join(",")}], ${r.shrink ? `shrink-runs ${r.shrinkRuns}` : "no shrink"}, mec ${r.version}, ${r.shard === null ? "unsharded" : `${r.shard.of} shards`}`;
}

/**
 * Joins the reports of the shards 1/N..N/N of one run (given in any order) into the report of
 * a single run over the same seeds: failures by seed, the first one with its shrunk schedule
 * (the shard that held it shrank it, with the same budget) and the others without; events and
 * simulated time summed. wallMs is the slowest shard's (the shards ran side by side, so that is
 * the run's elapsed time); workers are summed. Refuses (UsageError) reports of different runs,
 * a shard given twice and missing shards.
 */
export function mergeReports(reports: readonly { path: string; report: ManySeedsReport }[]): ManySeedsReport {
  if (reports.length === 0) throw new UsageError("sim merge needs at least one report");
  const first = reports[0]!;
  for (const { path, report } of reports) {
    if (runConfig(report) !== runConfig(first.report)) throw new UsageError(`${path} is from another run than ${first.path}: ${runConfig(report)} vs ${runConfig(first.report)}`);
  }
  const of = first.report.shard?.of ?? 1;
  const byIndex = new Map<number, string>();
  for (const { path, report } of reports) {
    const index = report.shard?.index ?? 1;
    const other = byIndex.get(index);
    if (other !== undefined) throw new UsageError(`overlapping shards: shard ${index}/${of} is both ${other} and ${path}`);
    byIndex.set(index, path);
    const expected = shardSeeds(report.first, report.count, report.shard);
    if (report.seeds !== expected.length) throw new UsageError(`${path}: reports ${report.seeds} seeds, but shard ${index}/${of} of ${report.first}..${report.first + report.count - 1} has ${expected.length}`);
    const inShard = new Set(expected);
    const stray = report.failures.find((f) => !inShard.has(f.seed));
    if (stray !== undefined) throw new UsageError(`${path}: failing seed ${stray.seed} is not in shard ${index}/${of}`);
  }
  const missing = Array.from({ length: of }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw new UsageError(`missing shards: ${missing.map((i) => `${i}/${of}`).join(", ")} (got ${reports.length} of ${of})`);
  const failures = reports.flatMap(({ report }) => report.failures.map((f) => ({ ...f }))).sort((a, b) => a.seed - b.seed);
  // A single run shrinks only its first failure: keep that shrink, drop the other shards' ones.
  for (const f of failures.slice(1)) {
    delete f.schedule;
    delete f.shrunkReplay;
  }
  const sum = (k: "seeds" | "events" | "simulatedMs" | "workers"): number => reports.reduce((a, { report }) => a + report[k], 0);
  const r = first.report;
  return {
    seeds: sum("seeds"),
    failures,
    events: sum("events"),
    simulatedMs: sum("simulatedMs"),
    wallMs: Math.max(...reports.map(({ report }) => report.wallMs)),
    first: r.first,
    count: r.count,
    shard: null,
    bugs: [...r.bugs],
    shrink: r.shrink,
    shrinkRuns: r.shrinkRuns,
    workers: sum("workers"),
    version: r.version,
  };
}
