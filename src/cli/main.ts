// The `mec` command: parses argv with commander and dispatches to one module per subcommand.
// Every command resolves to an exit code: 0 ok, 1 a failure it was asked to find (e.g. a
// simulator violation) or a node that could not start, 2 bad usage or bad input, with one
// line `mec: ...` on stderr (commander's own parse errors are reworded to the same style).
import { Command, CommanderError } from "commander";
import { registerVclock } from "./vclock.ts";
import { registerSim } from "./sim.ts";
import { registerNode } from "./node.ts";
import { registerTrace } from "./trace.ts";
import { registerKeygen } from "./keygen.ts";
import { registerLab } from "./lab.ts";
import { registerMembership } from "./membership.ts";
import { UsageError, suggest, type CommandOutcome } from "./errors.ts";
import { packageVersion } from "./version.ts";

export { packageVersion };

/** The `mec` program with every command registered; `outcome` receives the exit code. */
export function buildProgram(outcome: CommandOutcome): Command {
  const program = new Command("mec")
    .description("MecDB: a Dynamo-style key-value store and deterministic distributed-systems testbed")
    .version(packageVersion(), "-V, --version", "print the version of mec and exit")
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(`mec: ${s.replace(/^error: /, "")}`),
    })
    .showSuggestionAfterError(true)
    .showHelpAfterError(false);
  registerVclock(program, outcome);
  registerSim(program, outcome);
  registerNode(program, outcome);
  registerTrace(program, outcome);
  registerKeygen(program, outcome);
  registerLab(program, outcome);
  registerMembership(program, outcome);
  program
    .command("help [command...]")
    .description("show help for mec or for a command (e.g. mec help sim, mec help vclock decode)")
    .action((words: string[]) => {
      let cmd: Command = program;
      for (const word of words) {
        const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
        if (sub === undefined) {
          const hint = suggest(word, cmd.commands.map((c) => c.name()));
          throw new UsageError(`unknown command ${JSON.stringify(word)}${hint === null ? "" : ` (did you mean ${hint}?)`}`);
        }
        cmd = sub;
      }
      cmd.outputHelp(); // with the text added by addHelpText (examples), as `mec CMD --help` prints
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: 0 };
  const program = buildProgram(outcome);
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
