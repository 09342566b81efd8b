// Placeholder: the owner of this subcommand replaces this file.
import type { Command } from "commander";
import type { CommandOutcome } from "./errors.ts";

export function registerSim(_program: Command, _outcome: CommandOutcome): void {}
