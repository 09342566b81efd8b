// `mec leave URL`, `mec remove NODE --url URL` and `mec members URL`: the operator's membership
// commands over the HTTP API (POST /cluster/leave, POST /cluster/remove/NODE, GET /cluster).
// Exit codes: 0 accepted (the JSON answer on stdout), 1 refused or unreachable (one line on stderr).
import type { Command } from "commander";
import { MecClient, MecError, type ClusterInfo } from "../client/index.ts";
import type { CommandOutcome } from "./errors.ts";

async function run(outcome: CommandOutcome, call: () => Promise<ClusterInfo>): Promise<void> {
  try {
    process.stdout.write(`${JSON.stringify(await call(), null, 2)}\n`);
    outcome.exitCode = 0;
  } catch (err) {
    process.stderr.write(`mec: ${err instanceof MecError ? err.message : (err as Error).message}\n`);
    outcome.exitCode = 1;
  }
}

export function registerMembership(program: Command, outcome: CommandOutcome): void {
  program
    .command("leave <url>")
    .description("ask the node at URL to hand all its partitions off and leave the cluster (its process then exits 0)")
    .addHelpText("after", "\nExample:\n  mec leave http://127.0.0.1:3002\n")
    .action((url: string) => run(outcome, () => new MecClient(url).leave()));
  program
    .command("remove <node>")
    .description("remove a crashed member (by id, host:port) through any member; its partitions are rebuilt from the other replicas")
    .option("--url <url>", "HTTP URL of any member", "http://127.0.0.1:3000")
    .addHelpText("after", "\nExample:\n  mec remove 127.0.0.1:7020 --url http://127.0.0.1:3000\n")
    .action((node: string, opts: { url: string }) => run(outcome, () => new MecClient(opts.url).remove(node)));
  program
    .command("members <url>")
    .description("print the cluster as the node at URL sees it (GET /cluster: members, ring epoch and owners, transfers)")
    .action((url: string) => run(outcome, () => new MecClient(url).cluster()));
}
