// `mec --config FILE` boots one node (the original MecDB's syntax); `mec cluster` starts a
// local cluster of node processes (src/dev-cluster/cluster.ts).
//
// Exit codes: 0 after a clean stop (SIGINT/SIGTERM) or once the node left the cluster (POST
// /cluster/leave) or was removed; 2 for a bad config or bad options (one line naming the key
// and the problem); 1 when the node cannot start (root in use by another process, a port
// already taken, storage that cannot be opened) or a member refused to add it (partitions differ).
//
// `--config` is an option of the program itself, so this module turns on commander's
// positional options: program options must come before a subcommand name, and a subcommand's
// own options (e.g. a future `mec sim --config`) are never taken by the program.
import type { Command } from "commander";
import { ConfigError, loadConfigFile, type MecConfig } from "../config/index.ts";
import { UsageError, suggest, type CommandOutcome } from "./errors.ts";

function parseIntOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${name}: expected an integer ${min}-${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Boots the node of `configPath` and runs it until SIGINT/SIGTERM; returns the exit code. */
async function runNodeFromConfigFile(configPath: string): Promise<number> {
  let config: MecConfig;
  try {
    config = loadConfigFile(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      if (err.detail) process.stderr.write(`${err.detail.replace(/\s*$/, "")}\n`);
      throw new UsageError(err.message);
    }
    throw err;
  }
  // Imported here so `mec vclock` and friends never load zeromq, LevelDB or Fastify.
  const { startNode } = await import("../node-process/start-node.ts");
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config);
  } catch (err) {
    process.stderr.write(`mec: ${config.name}: ${(err as Error).message}\n`);
    return 1;
  }
  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (reason: string, force: boolean): void => {
      if (stopping) {
        if (!force) return;
        process.stderr.write(`mec: ${reason} again: exiting without a clean stop\n`);
        process.exit(130);
      }
      stopping = true;
      if (force) node.logger.info({ reason }, "stopping");
      else node.logger.warn({ reason }, `stopping: ${reason}`);
      node.stop().then(
        () => finish(0),
        (err: unknown) => {
          process.stderr.write(`mec: error while stopping: ${(err as Error).message}\n`);
          finish(1);
        },
      );
    };
    // A second Ctrl-C / SIGTERM while stopping forces the exit.
    const onSignal = (signal: NodeJS.Signals): void => stop(signal, true);
    // Started by `mec cluster` with an IPC channel: when the supervisor goes away (even if it
    // was SIGKILLed), stop too, so a cluster never leaves orphan nodes behind.
    const onDisconnect = (): void => stop("supervisor gone", false);
    const finish = (code: number): void => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      process.off("disconnect", onDisconnect);
      // Everything is closed, so the process exits by itself; should a handle leak, do not hang.
      setTimeout(() => process.exit(code), 3000).unref();
      resolve(code);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    // The node asks to end: it left the cluster (exit 0), or a member refused to add it (exit 1).
    void node.exit.then(({ code, message }) => {
      if (stopping) return;
      stopping = true;
      if (code !== 0) process.stderr.write(`mec: ${config.name}: ${message}\n`);
      node.logger.info({ code }, `stopping: ${message}`);
      node.stop().then(
        () => finish(code),
        () => finish(code === 0 ? 1 : code),
      );
    });
    if (process.channel) {
      process.on("disconnect", onDisconnect);
      process.channel.unref();
    }
  });
}

export function registerNode(program: Command, outcome: CommandOutcome): void {
  program
    .enablePositionalOptions()
    .option("--config <file>", "boot one node from a TOML config file (the original MecDB syntax)")
    .allowExcessArguments(true)
    .action(async (opts: { config?: string }, command: Command) => {
      const word = command.args[0];
      if (word !== undefined) {
        const hint = suggest(word, program.commands.map((c) => c.name()));
        throw new UsageError(`unknown command ${JSON.stringify(word)}${hint === null ? " (see mec --help)" : ` (did you mean ${hint}?)`}`);
      }
      if (opts.config === undefined) {
        process.stderr.write(program.helpInformation());
        process.stderr.write("\nmec: give --config FILE to boot a node, or a command (e.g. `mec cluster`)\n");
        outcome.exitCode = 2;
        return;
      }
      outcome.exitCode = await runNodeFromConfigFile(opts.config);
    });

  program
    .command("cluster")
    .description("start a local cluster of real node processes on loopback, print their URLs, stop them on Ctrl-C")
    .option("--nodes <n>", "number of nodes", parseIntOption("--nodes", 1, 64), 3)
    .option("--dir <dir>", "configs, logs and data (kept between runs)", ".mec-cluster")
    .option("--base-port <port>", "cluster port of the first node (node i: base + 10*(i-1), and +1)", parseIntOption("--base-port", 1, 65534), 7000)
    .option("--http-base-port <port>", "HTTP port of the first node (node i: base + i-1)", parseIntOption("--http-base-port", 1, 65535), 3000)
    .option("--log-level <level>", "log level of the nodes (their logs go to DIR/<node>.log)", "info")
    .action(async (opts: { nodes: number; dir: string; basePort: number; httpBasePort: number; logLevel: string }) => {
      const { runCluster, validateClusterOptions } = await import("../dev-cluster/cluster.ts");
      const clusterOpts = {
        nodes: opts.nodes,
        dir: opts.dir,
        basePort: opts.basePort,
        httpBasePort: opts.httpBasePort,
        extraToml: { log_level: opts.logLevel },
      };
      const problem = validateClusterOptions(clusterOpts);
      if (problem !== null) throw new UsageError(problem);
      outcome.exitCode = await runCluster(clusterOpts);
    });
}
