// Progress of a long `mec` run (many simulator seeds, notebooks), on stderr so stdout stays
// the result. On a terminal: a cli-progress bar redrawn in place. Elsewhere (a CI log, a
// pipe): one plain line when the run starts, then at most one every `intervalMs`, and one at
// the end, e.g. `mec sim: 120/1000 seeds, 0 failing, 12 s elapsed, about 88 s left`.
// Off with --json or --quiet (the caller passes enabled = false).

interface ProgressOptions {
  /** The line prefix and what is counted: `mec sim` and `seeds`. */
  readonly label: string;
  readonly unit: string;
  readonly total: number;
  /** False: print nothing (--json, --quiet). */
  readonly enabled: boolean;
  /** Show how many items failed (default true; false for runs that have no failures to count). */
  readonly showFailing?: boolean;
  /** Where to write; default process.stderr. */
  readonly stream?: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
  /** Plain mode: the least time between two lines. Default 5 s. */
  readonly intervalMs?: number;
  /** Milliseconds, monotonic; default performance.now (tests pass a fake). */
  readonly now?: () => number;
}

export interface Progress {
  /** `done` items finished so far, `failing` of them failed. */
  update(done: number, failing: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { update() {}, stop() {} };

export async function startProgress(opts: ProgressOptions): Promise<Progress> {
  if (!opts.enabled || opts.total <= 0) return NO_PROGRESS;
  const stream = opts.stream ?? process.stderr;
  if (stream.isTTY === true) return await terminalBar(opts, stream as NodeJS.WriteStream);
  return plainLines(opts, stream);
}

async function terminalBar(opts: ProgressOptions, stream: NodeJS.WriteStream): Promise<Progress> {
  const { default: cliProgress } = await import("cli-progress");
  const failing = opts.showFailing === false ? "" : " | {failing} failing";
  const bar = new cliProgress.SingleBar({ stream, format: `{bar} {value}/{total} ${opts.unit}${failing} | eta {eta}s` }, cliProgress.Presets.shades_classic);
  bar.start(opts.total, 0, { failing: 0 });
  return {
    update: (done, failing) => bar.update(done, { failing }),
    stop: () => bar.stop(),
  };
}

function plainLines(opts: ProgressOptions, stream: { write(s: string): unknown }): Progress {
  const now = opts.now ?? (() => performance.now());
  const intervalMs = opts.intervalMs ?? 5000;
  const started = now();
  let lastAt = started;
  let last = { done: 0, failing: 0 };
  let stopped = false;
  const line = (): void => {
    const elapsedS = (now() - started) / 1000;
    const left = last.done > 0 && last.done < opts.total ? `, about ${Math.ceil((elapsedS / last.done) * (opts.total - last.done))} s left` : "";
    const failing = opts.showFailing === false ? "" : `, ${last.failing} failing`;
    stream.write(`${opts.label}: ${last.done}/${opts.total} ${opts.unit}${failing}, ${Math.round(elapsedS)} s elapsed${left}\n`);
  };
  line();
  return {
    update(done, failing) {
      last = { done, failing };
      if (now() - lastAt >= intervalMs) {
        lastAt = now();
        line();
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      line();
    },
  };
}
