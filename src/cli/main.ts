// The `mec` command: parses argv with commander and dispatches to one module per subcommand.
// Every command resolves to an exit code: 0 ok, 1 a failure it was asked to find (e.g. a
// simulator violation), 2 bad usage or bad input, with a one-line message on stderr.
import { Command, CommanderError } from "commander";
import { registerVclock } from "./vclock.ts";
import { registerSim } from "./sim.ts";
import { registerNode } from "./node.ts";
import { UsageError, type CommandOutcome } from "./errors.ts";


export async function main(argv: readonly string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: 0 };
  const program = new Command("mec")
    .description("MecDB: a Dynamo-style key-value store and deterministic distributed-systems testbed")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);
  registerVclock(program, outcome);
  registerSim(program, outcome);
  registerNode(program, outcome);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return outcome.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return 0;
      return 2;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`mec: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
