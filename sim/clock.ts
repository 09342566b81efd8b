// Per-node wall clocks: each simulated machine reads its own wall time, off from true
// (scheduler) time by an offset, a drift rate and sudden jumps forward and backward (an NTP
// step, a VM migrated, an operator's `date -s`). A clock is a pure function of scheduler
// time, so it adds no events and replays exactly. Only the node's wall time (the `now` of its
// inputs: write timestamps, Last-Modified) reads it; its monotonic time and its timers stay on
// scheduler time, as CLOCK_MONOTONIC and setTimeout do on a real machine whose wall clock is
// stepped.
import type { Rng } from "./rng.ts";

/** How far clocks may stray in a run (drawn per seed by the swarm); absent = all clocks exact. */
export interface ClockSpread {
  /** Constant offsets are uniform in [-offsetMaxMs, +offsetMaxMs]. */
  readonly offsetMaxMs: number;
  /** Drift rates are uniform in [-driftMaxPpm, +driftMaxPpm] (1 ppm = 1 µs per second). */
  readonly driftMaxPpm: number;
  /** Each node gets 0..jumpsMax jumps, at times uniform in [fromMs, untilMs] after the start. */
  readonly jumpsMax: number;
  /** A jump moves the clock by a size uniform in [-jumpMaxMs, +jumpMaxMs] (so backward too). */
  readonly jumpMaxMs: number;
  readonly jumpFromMs: number;
  readonly jumpUntilMs: number;
}

interface ClockJump {
  /** Scheduler time at which the clock jumps. */
  readonly atMs: number;
  readonly byMs: number;
}

/** One node's clock, as drawn. */
interface NodeClockSpec {
  readonly offsetMs: number;
  readonly driftPpm: number;
  /** Sorted by atMs. */
  readonly jumps: readonly ClockJump[];
}

export const EXACT_CLOCK: NodeClockSpec = { offsetMs: 0, driftPpm: 0, jumps: [] };

/** Draws one node's clock for a run that starts at scheduler time startMs. */
export function drawNodeClock(rng: Rng, spread: ClockSpread, startMs: number): NodeClockSpec {
  const sym = (max: number): number => (max <= 0 ? 0 : (rng.next() * 2 - 1) * max);
  const offsetMs = Math.round(sym(spread.offsetMaxMs));
  const driftPpm = Math.round(sym(spread.driftMaxPpm));
  const count = spread.jumpsMax > 0 ? rng.int(0, spread.jumpsMax) : 0;
  const jumps: ClockJump[] = [];
  for (let i = 0; i < count; i++) {
    jumps.push({ atMs: startMs + spread.jumpFromMs + Math.floor(rng.next() * Math.max(0, spread.jumpUntilMs - spread.jumpFromMs)), byMs: Math.round(sym(spread.jumpMaxMs)) });
  }
  jumps.sort((a, b) => a.atMs - b.atMs);
  return { offsetMs, driftPpm, jumps };
}

/** A node's wall clock over scheduler time. */
export class NodeClock {
  constructor(
    readonly spec: NodeClockSpec,
    /** Scheduler time at which drift starts accumulating (the run's start). */
    private readonly startMs: number,
  ) {}

  /** The wall time this node reads at scheduler time t (ms since the epoch; never below 0). */
  wallAt(t: number): number {
    let ms = t + this.spec.offsetMs + ((t - this.startMs) * this.spec.driftPpm) / 1e6;
    for (const j of this.spec.jumps) {
      if (j.atMs > t) break;
      ms += j.byMs;
    }
    return Math.max(0, ms);
  }

  /** Largest distance from true time this clock reaches (for describing a world). */
  get maxSkewMs(): number {
    let at = Math.abs(this.spec.offsetMs);
    let sum = this.spec.offsetMs;
    for (const j of this.spec.jumps) {
      sum += j.byMs;
      at = Math.max(at, Math.abs(sum));
    }
    return at;
  }
}
