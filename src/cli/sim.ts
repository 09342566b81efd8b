// `mec sim`: runs the deterministic simulator.
//   mec sim [--scenario FILE] [--seed N | --seeds COUNT] [--workers K] [--shard I/N]
//           [--bug NAME] [--schedule JSON] [--trace FILE] [--svg FILE] [--without E | --shift E:MS] [--json] [--quiet]
// One seed (--seed N, or a random one): prints seed= and the drawn configuration first, runs
// it twice (the determinism checker compares the trace hashes), and on a violation prints the property, the
// shrunk fault schedule and the command that replays it. Many seeds (--seeds COUNT: seeds
// 1..COUNT, or N..N+COUNT-1 with --seed N) run on worker threads; --shard I/N (1 <= I <= N)
// keeps the seeds whose position modulo N is I-1, so N machines cover the range disjointly.
// Schedules print with node names (n3), and --schedule accepts names or indexes. --svg writes
// the run's space-time diagram; --without / --shift re-run the seed with one fault episode
// removed or moved and print both runs side by side (a counterfactual).
// `mec sim merge SHARD.json...` joins the shards' --json reports into one (sim-report.ts).
// Many seeds show progress on stderr (a bar on a terminal, a plain line every few seconds
// otherwise) unless --json or --quiet. --json prints one JSON object. Exit 0: no violation; 1: a violation (or a scenario's
// expectation unmet); 2: bad usage or a bad scenario file.
import { createWriteStream, type WriteStream } from "node:fs";
import { availableParallelism } from "node:os";
import { Option, type Command } from "commander";
import { BUG_NAMES, type BugName } from "../core/types.ts";
import { UsageError, type CommandOutcome } from "./errors.ts";
import { packageVersion } from "./version.ts";
import { failureLines, headerLine, mergeReports, readReport, reportLines, shardSeeds, shrinkingLine, shrinks, shrunkLines, summaryLine, type ManySeedsReport, type SeedFailure } from "./sim-report.ts";

interface SimOptions {
  scenario?: string;
  seed?: string;
  seeds?: string;
  workers?: string;
  shard?: string;
  bug?: string[];
  schedule?: string;
  trace?: string;
  svg?: string;
  without?: string;
  shift?: string;
  json?: boolean;
  quiet?: boolean;
  shrink?: boolean;
  stopAfterFailures?: string;
  /** A number when defaulted, the user's text when given. */
  shrinkRuns?: string | number;
}

/** Default of --shrink-runs. */
const SHRINK_RUNS = 100;

const EXAMPLES = `
Examples:
  mec sim                                  one random seed (printed first), run twice
  mec sim --seed 42                        replay seed 42
  mec sim --seeds 1000                     seeds 1..1000 on every core, progress on stderr
  mec sim --seeds 1000 --shard 2/4         the second quarter of seeds 1..1000 (one CI machine)
  mec sim --seed 8 --bug counter-reset     seed 8 with a planted bug (a violation is shrunk, then replayed)
  mec sim --seed 7 --schedule '{"episodes":[]}'   seed 7 without faults (schedules as shrinking prints them)
  mec sim --scenario scenarios/hinted_handoff.toml --trace trace.jsonl
  mec sim --seeds 200 --json --quiet       one JSON object on stdout, nothing on stderr
`;

type Failure = SeedFailure;

function parseIntArg(name: string, text: string, min: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
  const v = Number(text);
  if (!Number.isSafeInteger(v) || v < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${text}`);
  return v;
}

function parseBugs(bugs: readonly string[] | undefined): BugName[] {
  const out: BugName[] = [];
  for (const b of bugs ?? []) {
    if (!(BUG_NAMES as readonly string[]).includes(b)) throw new UsageError(`--bug must be one of ${BUG_NAMES.join(", ")}, got ${JSON.stringify(b)}`);
    out.push(b as BugName);
  }
  return out;
}

function openTrace(path: string | undefined): { stream: WriteStream | null; sink?: (line: string) => void } {
  if (path === undefined) return { stream: null };
  const stream = createWriteStream(path);
  return { stream, sink: (line) => stream.write(line + "\n") };
}

async function closeTrace(stream: WriteStream | null): Promise<void> {
  if (stream === null) return;
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

const MERGE_EXAMPLES = `
The shards must be the N slices 1/N..N/N of one run (same --seeds, --seed, --bug, --shrink-runs
and mec version), each written with --json. The merged report is the one a single run over the
same seeds prints, text or --json: failures in seed order with their replay commands, the first
one's shrunk schedule, events and simulated time summed; the time is the slowest shard's
(wallMs = max, the shards run side by side) and workers are summed.
Exit 0: no failing seed; 1: a failing seed; 2: unreadable reports, reports of different runs,
a shard given twice or a shard missing.

Examples:
  mec sim --seeds 1000 --shard 1/2 --json > s1.json   # on machine 1
  mec sim --seeds 1000 --shard 2/2 --json > s2.json   # on machine 2
  mec sim merge s1.json s2.json            the report of mec sim --seeds 1000
  mec sim merge --json shards/*.json       the same as one JSON object
`;

export function registerSim(program: Command, outcome: CommandOutcome): void {
  const sim = program
    .command("sim")
    .description("run the deterministic simulator: seeded swarm runs with faults and checkers, or a scenario file")
    .option("--scenario <file>", "run a scenario (scenarios/*.toml) and check its expectations")
    .option("--seed <n>", "run this seed (default: a random seed, printed first)")
    .option("--seeds <count>", "run COUNT seeds (1..COUNT, or from --seed on)")
    .option("--workers <k>", "worker threads for many seeds (default: number of cores)")
    .option("--shard <i/n>", "run only the I-th of N disjoint slices of the seeds (1 <= I <= N)")
    .option("--bug <name...>", `switch on a planted bug in every node: ${BUG_NAMES.join(", ")}`)
    .option("--schedule <json>", "replay this fault schedule (as printed after shrinking) instead of the seed's own")
    .option("--trace <file>", "write one JSON line per simulator event to FILE")
    .option("--svg <file>", "write the run's space-time diagram (SVG) to FILE")
    .option("--without <episode>", "counterfactual: re-run without fault episode E (e1, e2, ... as printed) and compare")
    .option("--shift <episode:ms>", "counterfactual: re-run with episode E moved by MS (e.g. e2:+500) and compare")
    .option("--json", "print one JSON object instead of text (and no progress)")
    .option("--quiet", "no progress bar or progress lines on stderr")
    .option("--no-shrink", "do not shrink a failing schedule")
    .option("--stop-after-failures <n>", "with --seeds: stop handing out seeds once N have failed (seeds already running finish; the report counts the seeds run)")
    .addOption(new Option("--shrink-runs <n>", "step budget for shrinking: at most N simulations (the same result on every machine)").default(SHRINK_RUNS))
    .addHelpText("after", EXAMPLES)
    .action(async (opts: SimOptions) => {
      outcome.exitCode = await runSimCommand(opts);
    });
  sim
    .command("merge")
    .description("join the --json reports of the shards of one run (--shard 1/N..N/N) into the report of a single run")
    .argument("<shard.json...>", "the shards' reports (mec sim --seeds COUNT --shard I/N --json), in any order")
    .option("--json", "print one JSON object instead of text")
    .addHelpText("after", MERGE_EXAMPLES)
    .action((files: string[], _opts: unknown, cmd: Command) => {
      // `--json` after `merge` is also an option of `sim`, which commander gives to it.
      outcome.exitCode = runMergeCommand(files, cmd.optsWithGlobals<{ json?: boolean }>());
    });
}

/** The options of a swarm run, checked. */
interface SimArgs {
  readonly bugs: BugName[];
  readonly json: boolean;
  readonly seedArg: number | undefined;
  readonly count: number | undefined;
  readonly workers: number;
  readonly shard: { index: number; of: number } | null;
  readonly shrinkRuns: number;
  /** Stop a swarm after this many failing seeds (null: run them all). */
  readonly stopAfterFailures: number | null;
  /** Prints a line of the text report (nothing with --json). */
  readonly out: (line: string) => void;
}

/** `mec sim`: parse the options, then run a scenario, one seed, or many seeds. */
async function runSimCommand(opts: SimOptions): Promise<number> {
  const args = parseSimArgs(opts);
  if (opts.scenario !== undefined) {
    if (args.count !== undefined || args.shard !== null) throw new UsageError("--scenario runs one seeded scenario: --seeds and --shard do not apply");
    return runScenarioCommand(opts.scenario, args.seedArg, args.bugs, opts.trace, args.json, opts.svg);
  }
  return args.count === undefined ? runOneSeedCommand(opts, args) : runManySeedsCommand(opts, args, args.count);
}

function parseSimArgs(opts: SimOptions): SimArgs {
  const bugs = parseBugs(opts.bug);
  const json = opts.json === true;
  const out = (line: string): void => {
    if (!json) process.stdout.write(line + "\n");
  };
  const seedArg = opts.seed !== undefined ? parseIntArg("--seed", opts.seed, 0) : undefined;
  if (seedArg !== undefined && seedArg > 0xffffffff) throw new UsageError(`--seed must be < 2^32, got ${seedArg}`);
  const count = opts.seeds !== undefined ? parseIntArg("--seeds", opts.seeds, 1) : undefined;
  const workers = opts.workers !== undefined ? parseIntArg("--workers", opts.workers, 1) : availableParallelism();
  let shard: { index: number; of: number } | null = null;
  if (opts.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(opts.shard);
    const index = Number(m?.[1]);
    const of = Number(m?.[2]);
    if (m === null || of < 1 || index < 1 || index > of) throw new UsageError(`--shard must be I/N with 1 <= I <= N, got ${JSON.stringify(opts.shard)}`);
    shard = { index, of };
  }
  const shrinkRuns = parseIntArg("--shrink-runs", String(opts.shrinkRuns ?? SHRINK_RUNS), 0);
  const stopAfterFailures = opts.stopAfterFailures !== undefined ? parseIntArg("--stop-after-failures", opts.stopAfterFailures, 1) : null;
  if (stopAfterFailures !== null && count === undefined) throw new UsageError("--stop-after-failures applies to a swarm: use it with --seeds");
  if (opts.schedule !== undefined && count !== undefined) throw new UsageError("--schedule replays one seed: use it with --seed, not --seeds");
  if ((opts.without !== undefined || opts.shift !== undefined) && (count !== undefined || opts.scenario !== undefined)) throw new UsageError("--without / --shift re-run one seed: use them with --seed");
  if (opts.without !== undefined && opts.shift !== undefined) throw new UsageError("--without and --shift each change one episode: give one of them");
  if (opts.svg !== undefined && count !== undefined) throw new UsageError("--svg draws one run: use it with --seed, not --seeds");
  return { bugs, json, seedArg, count, workers, shard, shrinkRuns, stopAfterFailures, out };
}

/** One seed (--seed N, or a random one): run it twice, print the run, shrink a failure. */
async function runOneSeedCommand(opts: SimOptions, args: SimArgs): Promise<number> {
  const { bugs, json, seedArg, shrinkRuns, out } = args;
  const { parseNamedSchedule, memberNames, nameSchedule, describeEpisode } = await import("../../sim/viz/schedule-names.ts");
  const { mecdb } = await import("../../sim/mecdb.ts");
  const { runSeed, shrinkSchedule, replayCommand } = await import("../../sim/seeds.ts");
  const { drawWorld, describeWorld } = await import("../../sim/swarm.ts");
  const started = performance.now();
  const seed = seedArg ?? (Math.floor(Math.random() * 0xffffffff) >>> 0);
  const world = drawWorld(seed, { bugs });
  const members = memberNames(world.spec.cluster.size);
  let schedule: import("../../sim/faults.ts").FaultSchedule | undefined;
  if (opts.schedule !== undefined) {
    const parsed = parseNamedSchedule(opts.schedule, members);
    if (typeof parsed === "string") throw new UsageError(parsed);
    schedule = parsed;
  }
  out(`seed=${seed}`);
  out(`config: ${describeWorld(world)}`);
  if (opts.without !== undefined || opts.shift !== undefined) return runCounterfactualCommand(opts, world, schedule, json);
  const { stream, sink } = openTrace(opts.trace);
  const svgLines: string[] | null = opts.svg !== undefined ? [] : null;
  const traceSink = sink || svgLines ? (line: string) => (sink?.(line), svgLines?.push(line)) : undefined;
  const header = { source: { kind: "seed", seed, bugs } };
  const result = runSeed(mecdb, seed, { bugs, determinism: true, ...(schedule ? { schedule } : {}), trace: traceSink ? { sink: traceSink, header } : { header } });
  await closeTrace(stream);
  if (opts.svg !== undefined && svgLines !== null) await writeSvg(opts.svg, svgLines);
  out(`schedule: ${JSON.stringify(nameSchedule(members, result.schedule))}`);
  result.schedule.episodes.forEach((e, i) => out(`  ${describeEpisode(members, e, i)}`));
  const s = result.stats;
  out(
    `ran: ${s.ops} client ops (${s.ok} ok, ${s.failed} failed, ${s.unknown} unknown), ${s.messages} messages (${s.dropped} dropped, ${s.duplicated} duplicated), ${s.wipes} wipes`,
  );
  out(`node events: ${Object.entries(s.nodeEvents).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  const failures: Failure[] = [];
  if (result.violations.length > 0) {
    const first = result.violations[0]!;
    const failure: Failure = { seed, property: first.property, detail: first.detail, replay: replayCommand(seed, bugs, schedule, members) };
    for (const v of result.violations) out(`VIOLATION ${v.property}: ${v.detail}`);
    if (opts.shrink !== false && first.property !== "determinism") {
      out(`shrinking the fault schedule (${result.schedule.episodes.length} episodes, up to ${shrinkRuns} runs)...`);
      const shrunk = shrinkSchedule(mecdb, world, result.schedule, first.property, shrinkRuns);
      if (shrunk !== null) {
        failure.schedule = nameSchedule(members, shrunk.schedule);
        failure.shrunkReplay = replayCommand(seed, bugs, shrunk.schedule, members);
        out(`shrunk schedule (${shrunk.runs} runs${shrunk.interrupted ? ", stopped at the step budget" : ""}): ${JSON.stringify(failure.schedule)}`);
        shrunk.schedule.episodes.forEach((e, i) => out(`  ${describeEpisode(members, e, i)}`));
        out(`  still fails: ${shrunk.violation.property}: ${shrunk.violation.detail}`);
        out(`replay the shrunk schedule: ${failure.shrunkReplay}`);
      }
    }
    out(`replay: ${failure.replay}`);
    failures.push(failure);
  } else {
    out(`ok: no violation; trace ${result.traceHash.slice(0, 16)} (same on a second run)`);
  }
  const wallMs = performance.now() - started;
  out(`${result.events} events, ${(result.simulatedMs / 1000).toFixed(1)} s simulated in ${(wallMs / 1000).toFixed(2)} s`);
  if (json) {
    process.stdout.write(
      JSON.stringify({ seeds: 1, failures, events: result.events, simulatedMs: result.simulatedMs, wallMs: Math.round(wallMs), traceHash: result.traceHash }) + "\n",
    );
  }
  return failures.length > 0 ? 1 : 0;
}

/** Many seeds on worker threads (progress on stderr), then the failures and a shrink of the first. */
async function runManySeedsCommand(opts: SimOptions, args: SimArgs, count: number): Promise<number> {
  const { bugs, json, seedArg, workers, shard, shrinkRuns, stopAfterFailures, out } = args;
  const { memberNames, nameSchedule } = await import("../../sim/viz/schedule-names.ts");
  const { mecdb } = await import("../../sim/mecdb.ts");
  const { shrinkSchedule, replayCommand } = await import("../../sim/seeds.ts");
  const { drawWorld } = await import("../../sim/swarm.ts");
  const started = performance.now();
  if (opts.trace !== undefined) throw new UsageError("--trace writes one run: use it with --seed, not --seeds");
  const first = seedArg ?? 1;
  const seeds = shardSeeds(first, count, shard);
  const report: ManySeedsReport = {
    seeds: seeds.length,
    failures: [],
    events: 0,
    simulatedMs: 0,
    wallMs: 0,
    first,
    count,
    shard,
    bugs: [...bugs],
    shrink: opts.shrink !== false,
    shrinkRuns,
    workers,
    version: packageVersion(),
  };
  out(headerLine(report));
  const { runSeeds } = await import("../../sim/pool.ts");
  const { startProgress } = await import("./progress.ts");
  const progress = await startProgress({ label: "mec sim", unit: "seeds", total: seeds.length, enabled: !json && opts.quiet !== true && seeds.length > 1 });
  let failing = 0;
  let done = 0;
  const results = await runSeeds(mecdb, seeds, {
    bugs,
    workers,
    determinismEvery: 64,
    ...(stopAfterFailures !== null ? { stopAfterFailures } : {}),
    onResult: (o) => {
      if (o.violations.length > 0) failing++;
      progress.update(++done, failing);
    },
  });
  progress.stop();
  results.sort((a, b) => a.seed - b.seed);
  for (const r of results) {
    report.events += r.events;
    report.simulatedMs += Math.round(r.simulatedMs); // whole ms: sums are exact, so merged shards equal one run
    const v = r.violations[0];
    if (v === undefined) continue;
    report.failures.push({ seed: r.seed, property: v.property, detail: v.detail, replay: replayCommand(r.seed, bugs), config: r.config, episodes: r.schedule.episodes.length });
  }
  for (const line of failureLines(report)) out(line);
  // Shrink the first failure (the others replay with their seed).
  const firstFailure = report.failures[0];
  if (shrinks(report, firstFailure)) {
    const r = results.find((x) => x.seed === firstFailure.seed)!;
    const world = drawWorld(r.seed, { bugs });
    out(shrinkingLine(report, firstFailure));
    const shrunk = shrinkSchedule(mecdb, world, r.schedule, firstFailure.property as import("../../sim/checkers/index.ts").Property, shrinkRuns);
    if (shrunk !== null) {
      const members = memberNames(world.spec.cluster.size);
      firstFailure.schedule = nameSchedule(members, shrunk.schedule);
      firstFailure.shrunkReplay = replayCommand(r.seed, bugs, shrunk.schedule, members);
      for (const line of shrunkLines(firstFailure)) out(line);
    }
  }
  if (stopAfterFailures !== null) {
    // Seeds not handed out after the N-th failure are not in the report.
    report.planned = seeds.length;
    report.seeds = results.length;
    report.stopped = results.length < seeds.length;
    if (report.stopped) out(`stopped after ${report.failures.length} failing seeds (--stop-after-failures ${stopAfterFailures}): ${results.length} of ${seeds.length} seeds run`);
  }
  report.wallMs = Math.round(performance.now() - started);
  out(summaryLine(report));
  if (json) process.stdout.write(JSON.stringify(report) + "\n");
  return report.failures.length > 0 ? 1 : 0;
}

/** `mec sim merge FILE...`: the shards' JSON reports joined into the report of one run. */
function runMergeCommand(files: readonly string[], opts: { json?: boolean }): number {
  const report = mergeReports(files.map((path) => ({ path, report: readReport(path) })));
  if (opts.json === true) process.stdout.write(JSON.stringify(report) + "\n");
  else for (const line of reportLines(report)) process.stdout.write(line + "\n");
  return report.failures.length > 0 ? 1 : 0;
}

async function writeSvg(path: string, lines: readonly string[]): Promise<void> {
  const { buildModel } = await import("../../sim/viz/model.ts");
  const { traceToSvg } = await import("../../sim/viz/svg.ts");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(path, traceToSvg(buildModel(lines.map((l) => JSON.parse(l) as import("../../sim/viz/model.ts").TraceLine))));
}

async function runCounterfactualCommand(
  opts: SimOptions,
  world: import("../../sim/swarm.ts").SwarmWorld,
  given: import("../../sim/faults.ts").FaultSchedule | undefined,
  json: boolean,
): Promise<number> {
  const { parseEpisodeRef, parseShift, runCounterfactual, formatSideBySide } = await import("../../sim/viz/counterfactual.ts");
  const { worldSchedule } = await import("../../sim/swarm.ts");
  const { mecdb } = await import("../../sim/mecdb.ts");
  let change: import("../../sim/viz/counterfactual.ts").EpisodeChange;
  if (opts.without !== undefined) {
    const index = parseEpisodeRef(opts.without);
    if (index === null) throw new UsageError(`--without must name an episode as printed (e1, e2, ...), got ${JSON.stringify(opts.without)}`);
    change = { index, remove: true };
  } else {
    const s = parseShift(opts.shift ?? "");
    if (s === null) throw new UsageError(`--shift must be EPISODE:MS (e.g. e2:+500), got ${JSON.stringify(opts.shift)}`);
    change = s;
  }
  const schedule = given ?? worldSchedule(world);
  let c;
  try {
    c = runCounterfactual(mecdb, world.spec, schedule, change);
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  if (json) process.stdout.write(JSON.stringify(c) + "\n");
  else for (const line of formatSideBySide(c)) process.stdout.write(line + "\n");
  return c.outcome === "disappears" || c.outcome === "none" ? 0 : 1;
}

async function runScenarioCommand(path: string, seed: number | undefined, bugs: BugName[], tracePath: string | undefined, json: boolean, svgPath?: string): Promise<number> {
  const { loadScenarioFile, runScenario, ScenarioError } = await import("../../sim/scenario.ts");
  let scenario;
  try {
    scenario = loadScenarioFile(path);
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  const { mecdb } = await import("../../sim/mecdb.ts");
  const started = performance.now();
  const { stream, sink } = openTrace(tracePath);
  const svgLines: string[] | null = svgPath !== undefined ? [] : null;
  const traceSink = sink || svgLines ? (line: string) => (sink?.(line), svgLines?.push(line)) : undefined;
  const { resolve } = await import("node:path");
  const header = { source: { kind: "scenario", file: resolve(path), name: scenario.name, seed: seed ?? scenario.seed, bugs } };
  const result = runScenario(mecdb, scenario, { ...(seed !== undefined ? { seed } : {}), bugs, trace: traceSink ? { sink: traceSink, hash: true, header } : { hash: true, header } });
  await closeTrace(stream);
  if (svgPath !== undefined && svgLines !== null) await writeSvg(svgPath, svgLines);
  const wallMs = performance.now() - started;
  if (!json) {
    for (const line of result.report) process.stdout.write(line + "\n");
  } else {
    const failures = result.failures.map((f) => ({ seed: result.seed, property: f.property, detail: f.detail, replay: result.replay }));
    process.stdout.write(
      JSON.stringify({ seeds: 1, scenario: scenario.name, passed: result.passed, failures, events: result.events, simulatedMs: result.simulatedMs, wallMs: Math.round(wallMs), traceHash: result.traceHash }) +
        "\n",
    );
  }
  return result.passed ? 0 : 1;
}
