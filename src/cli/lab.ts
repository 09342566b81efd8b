// `mec lab pbs`: the quorum lab (probabilistically bounded staleness, Bailis et al. VLDB 2012)
// measured on the real node code in the simulator (sim/lab). One quorum prints t-visibility,
// the 99.9th percentile read and write latency and P(consistent) at the commit, for the
// configuration where MecDB's path coincides with WARS ("wars") and for the native path;
// --sweep prints the table for R, W in {1,2,3}; --svg FILE writes P(consistent) against t.
// Progress goes to stderr (a bar on a terminal, a plain line every few seconds otherwise; none
// with --json or --quiet); --json prints one object on stdout. The default 50,000 trials per path
// take about 80 s of CPU for one quorum (both paths).
import { writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { startProgress, type Progress } from "./progress.ts";
import { UsageError, type CommandOutcome } from "./errors.ts";
import { FIT_NAMES, fitByName, isFitName } from "../../sim/lab/fits.ts";
import { consistencyCurve, measureModel, measureOnNode, ms, publicSummary, type LabRequest, type PbsSummary } from "../../sim/lab/summary.ts";
import { linePlot } from "../../sim/lab/svg.ts";

const DEFAULT_TRIALS = 50_000;

/** Options as commander gives them: the user's text, or the (numeric) default. */
interface PbsOpts {
  fit: string;
  n: string | number;
  r?: string;
  w?: string;
  p: string | number;
  trials: string | number;
  seed: string | number;
  json?: boolean;
  quiet?: boolean;
  sweep?: boolean;
  svg?: string;
  model?: boolean;
  ymmrWAlpha?: string;
}

function intArg(name: string, text: string | number, lo: number, hi: number): number {
  const value = String(text);
  const v = Number(value);
  if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`--${name} must be an integer from ${lo} to ${hi}, got ${JSON.stringify(value)}`);
  return v;
}

function parse(opts: PbsOpts): { base: Omit<LabRequest, "r" | "w">; r: number | null; w: number | null } {
  if (!isFitName(opts.fit)) throw new UsageError(`--fit must be one of ${FIT_NAMES.join(", ")}, got ${JSON.stringify(opts.fit)}`);
  const n = intArg("n", opts.n, 1, 9);
  const p = Number(opts.p);
  if (!(p > 0 && p < 1)) throw new UsageError(`--p must be a probability strictly between 0 and 1, got ${JSON.stringify(opts.p)}`);
  let ymmrWAlpha: number | undefined;
  if (opts.ymmrWAlpha !== undefined) {
    ymmrWAlpha = Number(opts.ymmrWAlpha);
    if (!(ymmrWAlpha > 0)) throw new UsageError(`--ymmr-w-alpha must be a positive number, got ${JSON.stringify(opts.ymmrWAlpha)}`);
  }
  const fit = fitByName(opts.fit, ymmrWAlpha !== undefined ? { ymmrWAlpha } : {});
  const trials = intArg("trials", opts.trials, 1000, 10_000_000);
  const seed = intArg("seed", opts.seed, 0, 0xffffffff);
  const r = opts.r === undefined ? null : intArg("r", opts.r, 1, n);
  const w = opts.w === undefined ? null : intArg("w", opts.w, 1, n);
  if (opts.sweep !== true && (r === null || w === null)) throw new UsageError("give --r and --w (or --sweep for R, W in 1..N)");
  return { base: { fit, n, p, trials, seed }, r, w };
}

/** Feeds one path's trial counts (done of `trials`) into the whole run's progress, after `before` trials of earlier paths. */
function pathProgress(progress: Progress, before: number): (done: number, total: number) => void {
  return (done) => progress.update(before + done, 0);
}

interface QuorumResult {
  readonly wars: PbsSummary;
  readonly native: PbsSummary;
  readonly model: PbsSummary | null;
}

function measure(base: Omit<LabRequest, "r" | "w">, r: number, w: number, withModel: boolean, progress: Progress, before: number): QuorumResult {
  const wars = measureOnNode({ ...base, r, w, onProgress: pathProgress(progress, before) }, "wars");
  progress.update(before + base.trials, 0);
  const native = measureOnNode({ ...base, r, w, onProgress: pathProgress(progress, before + base.trials) }, "native");
  progress.update(before + 2 * base.trials, 0);
  const model = withModel ? measureModel({ ...base, r, w, seed: base.seed + 1 }) : null;
  return { wars, native, model };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? ms(x).toFixed(2) : "inf";
}

function tableHeader(): string {
  return "  R  W | wars: t-vis ms  read p99.9  write p99.9  P(cons,t=0) | native: t-vis ms  read p99.9  write p99.9  P(cons,t=0)";
}

function tableRow(q: QuorumResult): string {
  const cells = (s: PbsSummary): string =>
    `${fmt(s.tVisibilityMs).padStart(12)} ${fmt(s.readP999Ms).padStart(11)} ${fmt(s.writeP999Ms).padStart(12)} ${s.pConsistentAtCommit.toFixed(4).padStart(12)}`;
  return `  ${q.wars.r}  ${q.wars.w} |     ${cells(q.wars)} |       ${cells(q.native)}`;
}

function curvePlot(results: readonly QuorumResult[], fitName: string, p: number): string {
  const tMax = Math.max(1, ...results.map((q) => (Number.isFinite(q.wars.tVisibilityMs) ? q.wars.tVisibilityMs : 0))) * 1.2;
  const series = results.flatMap((q) => [
    { label: `R=${q.wars.r} W=${q.wars.w} wars`, points: consistencyCurve(q.wars.thresholdsMs, tMax).map((c) => [c.tMs, c.pConsistent] as const) },
  ]);
  return linePlot(series, { title: `${fitName}: P(consistent) against t after the commit (p=${p})`, xLabel: "t after commit (ms)", yLabel: "P(consistent)", yMax: 1 });
}

export function registerLab(program: Command, outcome: CommandOutcome): void {
  const lab = program.command("lab").description("laboratories on the real node code in the simulator");
  lab
    .command("pbs")
    .description("probabilistically bounded staleness (Bailis et al. VLDB 2012, WARS) of N/R/W partial quorums, on the real node")
    .requiredOption("--fit <fit>", `latency fit: ${FIT_NAMES.join(" | ")}`)
    .addOption(new Option("--n <n>", "replicas").default(3))
    .option("--r <r>", "read quorum")
    .option("--w <w>", "write quorum")
    .addOption(new Option("--p <p>", "probability for t-visibility").default(0.999))
    .addOption(new Option("--trials <k>", "trials per path and quorum (the default takes about 80 s of CPU per quorum; progress on stderr)").default(DEFAULT_TRIALS))
    .addOption(new Option("--seed <s>", "seed of the run").default(1))
    .option("--sweep", "the table for R, W in 1..N")
    .option("--svg <file>", "write P(consistent) against t as an SVG plot")
    .option("--model", "also print the WARS model itself (no node code) for comparison")
    .option("--ymmr-w-alpha <a>", "shape of YMMR's W Pareto body (3.35 in the paper's Table 3; 3.5 in the authors' code)")
    .option("--json", "print one JSON object (and no progress)")
    .option("--quiet", "no progress bar or progress lines on stderr")
    .action(async (opts: PbsOpts) => {
      const { base, r, w } = parse(opts);
      const started = Date.now();
      const quorums: [number, number][] = [];
      if (opts.sweep === true) for (let rr = 1; rr <= base.n; rr++) for (let ww = 1; ww <= base.n; ww++) quorums.push([rr, ww]);
      else quorums.push([r!, w!]);
      const results: QuorumResult[] = [];
      const progress = await startProgress({ label: "mec lab pbs", unit: "trials", showFailing: false, total: quorums.length * 2 * base.trials, enabled: opts.json !== true && opts.quiet !== true });
      if (opts.json !== true) process.stdout.write(`fit=${base.fit.name} n=${base.n} p=${base.p} trials=${base.trials} per path and quorum, seed=${base.seed}\n${tableHeader()}\n`);
      for (const [rr, ww] of quorums) {
        const q = measure(base, rr, ww, opts.model === true, progress, results.length * 2 * base.trials);
        results.push(q);
        if (opts.json !== true) {
          process.stdout.write(`${tableRow(q)}\n`);
          if (q.model !== null) process.stdout.write(`        model (WARS, no node): t-vis ${fmt(q.model.tVisibilityMs)} ms, read p99.9 ${fmt(q.model.readP999Ms)}, write p99.9 ${fmt(q.model.writeP999Ms)}, P(cons,t=0) ${q.model.pConsistentAtCommit.toFixed(4)}\n`);
        }
        const bad = q.wars.mismatches! + q.native.mismatches!;
        if (bad > 0) {
          process.stderr.write(`mec lab pbs: ${bad} real reads disagreed with the staleness computed from their events (a broken leg mapping)\n`);
          outcome.exitCode = 1;
        }
      }
      progress.stop();
      const elapsedMs = Date.now() - started;
      if (opts.svg !== undefined) writeFileSync(opts.svg, curvePlot(results, base.fit.name, base.p));
      if (opts.json === true) {
        const one = (q: QuorumResult): Record<string, unknown> => ({
          ...publicSummary(q.wars),
          fit: base.fit.name,
          seed: base.seed,
          native: publicSummary(q.native),
          ...(q.model !== null ? { model: publicSummary(q.model) } : {}),
        });
        const body = opts.sweep === true ? { fit: base.fit.name, n: base.n, p: base.p, trials: base.trials, sweep: results.map(one), elapsedMs } : { ...one(results[0]!), elapsedMs };
        process.stdout.write(`${JSON.stringify(body)}\n`);
      } else {
        process.stdout.write(`took ${(elapsedMs / 1000).toFixed(1)} s (${quorums.length * 2} real-node runs of ${base.trials} trials)\n`);
      }
    });
}
