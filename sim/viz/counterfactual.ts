// Counterfactual replay: re-run a seed with one fault episode removed or moved, next to the
// run as it was, and say whether the violation goes away (then that episode is needed for
// the failure) or stays. Both runs are ordinary deterministic runs of the same world.
import type { FaultSchedule } from "../faults.ts";
import { runSimulation, type RunSpec } from "../run.ts";
import type { SystemUnderTest } from "../sut.ts";
import { describeEpisode, editSchedule, memberNames } from "./schedule-names.ts";

export type EpisodeChange = { readonly index: number; readonly remove: true } | { readonly index: number; readonly shiftMs: number };

interface RunVerdict {
  readonly label: string;
  readonly schedule: FaultSchedule;
  readonly violations: readonly { property: string; detail: string }[];
  readonly ops: number;
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
  readonly dropped: number;
}

export interface Counterfactual {
  readonly change: string;
  readonly original: RunVerdict;
  readonly changed: RunVerdict;
  /** "disappears" | "remains" | "appears" | "none" (no violation either way). */
  readonly outcome: "disappears" | "remains" | "appears" | "none";
  readonly summary: string;
}

/** Parses "e2" or "2" (1-based) into a 0-based episode index. */
export function parseEpisodeRef(text: string): number | null {
  const m = /^e?(\d+)$/.exec(text.trim());
  return m === null || Number(m[1]) < 1 ? null : Number(m[1]) - 1;
}

/** Parses --shift "e2:+500" / "2:-300". */
export function parseShift(text: string): { index: number; shiftMs: number } | null {
  const m = /^(e?\d+):([+-]?\d+)$/.exec(text.trim());
  if (m === null) return null;
  const index = parseEpisodeRef(m[1]!);
  return index === null ? null : { index, shiftMs: Number(m[2]) };
}

function verdict(sut: SystemUnderTest, spec: RunSpec, schedule: FaultSchedule, label: string): RunVerdict {
  const r = runSimulation(sut, spec, schedule);
  return { label, schedule, violations: r.violations.map((v) => ({ property: v.property, detail: v.detail })), ops: r.stats.ops, ok: r.stats.ok, failed: r.stats.failed, unknown: r.stats.unknown, dropped: r.stats.dropped };
}

export function runCounterfactual(sut: SystemUnderTest, spec: RunSpec, schedule: FaultSchedule, change: EpisodeChange): Counterfactual {
  const members = memberNames(spec.cluster.size);
  const ep = schedule.episodes[change.index];
  if (ep === undefined) throw new RangeError(`no episode e${change.index + 1}: the schedule has ${schedule.episodes.length} (${schedule.episodes.map((e, i) => describeEpisode(members, e, i)).join("; ") || "none"})`);
  const what = describeEpisode(members, ep, change.index);
  const edited = "remove" in change ? editSchedule(schedule, change.index, { remove: true }) : editSchedule(schedule, change.index, { shiftMs: change.shiftMs });
  const label = "remove" in change ? `without ${what}` : `${what}, moved ${change.shiftMs >= 0 ? "+" : ""}${change.shiftMs} ms`;
  const original = verdict(sut, spec, schedule, "as run");
  const changed = verdict(sut, spec, edited, label);
  const before = original.violations.length > 0;
  const after = changed.violations.length > 0;
  const outcome = before && !after ? "disappears" : before && after ? "remains" : !before && after ? "appears" : "none";
  const summary = {
    disappears: `the violation disappears ${label}: that episode is needed for the failure`,
    remains: `the violation remains ${label}: the failure does not need that episode as it was`,
    appears: `a violation appears ${label}`,
    none: `no violation either way`,
  }[outcome];
  return { change: label, original, changed, outcome, summary };
}

function column(v: RunVerdict): string[] {
  const lines = [v.label, `ops ${v.ops}: ${v.ok} ok, ${v.failed} failed, ${v.unknown} unknown`, `messages dropped ${v.dropped}`];
  if (v.violations.length === 0) lines.push("no violation");
  for (const x of v.violations.slice(0, 6)) lines.push(`VIOLATION ${x.property}: ${x.detail}`);
  return lines;
}

/** The two runs side by side (two text columns), then the one-line verdict. */
export function formatSideBySide(c: Counterfactual, width = 60): string[] {
  const a = column(c.original);
  const b = column(c.changed);
  const cut = (s: string): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) out.push(`${cut(a[i] ?? "")} | ${b[i] ?? ""}`);
  out.push(`=> ${c.summary}`);
  return out;
}
