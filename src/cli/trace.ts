// `mec trace`: looks at a simulator trace (mec sim --trace FILE).
//   mec trace svg TRACE -o FILE.svg [--key K] [--nodes a,b] [--from-ms T] [--to-ms T] [--heartbeats]
//   mec trace shiviz TRACE -o FILE.log [--heartbeats]
//   mec trace view TRACE [--port P]
// svg writes the space-time diagram, shiviz the same events in ShiViz's log format, view
// serves a page on 127.0.0.1 to step through the run with every node's state (the run is
// re-run from the trace's header to get it). Exit 2 for a missing or malformed trace.
import { readFileSync, writeFileSync } from "node:fs";
import { Option, type Command } from "commander";
import { UsageError, type CommandOutcome } from "./errors.ts";

interface SvgOpts {
  output: string;
  key?: string;
  nodes?: string;
  fromMs?: string;
  toMs?: string;
  heartbeats?: boolean;
}

function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || v < 0) throw new UsageError(`${name} must be a non-negative number of ms, got ${JSON.stringify(text)}`);
  return v;
}

async function readTrace(path: string): Promise<import("../../sim/viz/model.ts").TraceLine[]> {
  const { parseTraceLines, TraceError } = await import("../../sim/viz/model.ts");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read trace ${path}: ${(e as Error).message}`);
  }
  try {
    return parseTraceLines(text);
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
}

export function registerTrace(program: Command, outcome: CommandOutcome): void {
  const trace = program.command("trace").description("look at a simulator trace (mec sim --trace FILE): a diagram, a ShiViz log, or a step-through viewer");
  trace
    .command("svg <trace>")
    .description("write the space-time diagram of a trace")
    .requiredOption("-o, --output <file>", "SVG file to write")
    .option("--key <key>", "only messages and operations of this key")
    .option("--nodes <list>", "only these nodes' lanes (comma-separated, e.g. n1,n3)")
    .option("--from-ms <t>", "window start (ms since the run began)")
    .option("--to-ms <t>", "window end (ms since the run began)")
    .option("--heartbeats", "draw heartbeats too")
    .action(async (path: string, o: SvgOpts) => {
      const { buildModel } = await import("../../sim/viz/model.ts");
      const { traceToSvg } = await import("../../sim/viz/svg.ts");
      const model = buildModel(await readTrace(path));
      const nodes = o.nodes?.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const n of nodes ?? []) if (!model.nodes.includes(n)) throw new UsageError(`--nodes: no node ${JSON.stringify(n)} in this trace (nodes: ${model.nodes.join(", ")})`);
      const fromMs = num("--from-ms", o.fromMs);
      const toMs = num("--to-ms", o.toMs);
      if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new UsageError("--to-ms must be after --from-ms");
      const svg = traceToSvg(model, {
        ...(o.key !== undefined ? { key: o.key } : {}),
        ...(nodes ? { nodes } : {}),
        ...(fromMs !== undefined ? { fromMs } : {}),
        ...(toMs !== undefined ? { toMs } : {}),
        heartbeats: o.heartbeats === true,
      });
      writeFileSync(o.output, svg);
      process.stdout.write(`wrote ${o.output} (${model.nodes.length} nodes, ${model.messages.length} messages, ${model.formations.length} sibling formations, ${model.violations.length} violations)\n`);
      outcome.exitCode = 0;
    });
  trace
    .command("shiviz <trace>")
    .description("export a trace in ShiViz's log format (https://bestchai.bitbucket.io/shiviz/)")
    .requiredOption("-o, --output <file>", "log file to write")
    .option("--heartbeats", "include heartbeats")
    .action(async (path: string, o: { output: string; heartbeats?: boolean }) => {
      const { buildModel } = await import("../../sim/viz/model.ts");
      const { traceToShiviz } = await import("../../sim/viz/shiviz.ts");
      const text = traceToShiviz(buildModel(await readTrace(path)), { heartbeats: o.heartbeats === true });
      writeFileSync(o.output, text);
      process.stdout.write(`wrote ${o.output} (${text.split("\n").length - 3} events)\n`);
    });
  trace
    .command("view <trace>")
    .description("serve a page on 127.0.0.1 to step through a trace with every node's state")
    .addOption(new Option("--port <p>", "port on 127.0.0.1; 0: any free port").default(0))
    .action(async (path: string, o: { port: string | number }) => {
      const text = String(o.port);
      const port = Number(text);
      if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`--port must be 0-65535, got ${JSON.stringify(text)}`);
      const lines = await readTrace(path);
      const { replayWithStates } = await import("../../sim/viz/replay-states.ts");
      const { loadViewerData, startViewer } = await import("../../sim/viz/viewer-server.ts");
      process.stdout.write(`re-running the trace's run to record node states...\n`);
      let replay = null;
      let note: string | null = null;
      try {
        replay = await replayWithStates(lines[0]!);
        const same = replay.lines.length === lines.length && replay.lines.every((l, i) => i === 0 || l === JSON.stringify(lines[i]));
        if (!same) note = `the re-run differs from the trace file (${replay.lines.length} vs ${lines.length} lines): states come from the re-run`;
      } catch (e) {
        note = `cannot re-run this trace: ${(e as Error).message}`;
      }
      if (note !== null) process.stdout.write(`note: ${note}\n`);
      const { url } = await startViewer(loadViewerData(lines, replay, note), port);
      process.stdout.write(`trace viewer: ${url}  (Ctrl-C stops it)\n`);
      await new Promise<void>(() => {});
    });
}
