// `mec vclock`: decode, encode, compare and merge X-Mec-Vclock headers, for users and teaching.
//   mec vclock decode HEADER          -> one-line JSON, actors in wire order
//   mec vclock encode JSON [--canonical]  -> header (keeps the JSON's actor order unless --canonical)
//   mec vclock compare A B            -> equal | before | after | concurrent (A relative to B)
//   mec vclock merge A B [C...]       -> the merged clock as a canonical header
// Bad input: one line on stderr naming the problem, exit code 2.
import type { Command } from "commander";
import { suggest, type CommandOutcome } from "./errors.ts";
import {
  clockFromJson,
  clockToJsonText,
  compare,
  decodeVclock,
  encodeVclock,
  formatVclockError,
  mergeAll,
  type VClock,
} from "../core/versioning/index.ts";

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

/** How a subcommand reports bad input (one line on stderr, exit code 2) and reads a header argument. */
interface VclockArgs {
  readonly badInput: (message: string) => void;
  /** Decode a header argument, or report it and return undefined. */
  readonly headerArg: (header: string) => VClock | undefined;
}

export function registerVclock(program: Command, outcome: CommandOutcome): void {
  const badInput = (message: string): void => {
    process.stderr.write(`mec: ${message}\n`);
    outcome.exitCode = 2;
  };
  const headerArg = (header: string): VClock | undefined => {
    const r = decodeVclock(header);
    if (r.ok) return r.clock;
    badInput(`bad header ${shown(header)}: ${formatVclockError(r.error)}`);
    return undefined;
  };
  const args: VclockArgs = { badInput, headerArg };

  const vclock = program
    .command("vclock")
    .description("decode, encode, compare and merge X-Mec-Vclock headers (base64 msgpack vector clocks)")
    .allowExcessArguments(true)
    .action((_opts: unknown, command: Command) => {
      // Bare `mec vclock` (or a mistyped subcommand) behaves like bare `mec`: help on stderr, exit 2.
      const word = command.args[0];
      if (word !== undefined) {
        const hint = suggest(word, vclock.commands.map((c) => c.name()));
        process.stderr.write(`mec: unknown command "vclock ${word}"${hint === null ? " (see mec help vclock)" : ` (did you mean ${hint}?)`}\n`);
      } else {
        process.stderr.write(vclock.helpInformation());
        process.stderr.write("\nmec: give a vclock command (decode, encode, compare or merge)\n");
      }
      outcome.exitCode = 2;
    });
  addDecode(vclock, args);
  addEncode(vclock, args);
  addCompare(vclock, args);
  addMerge(vclock, args);
}

function addDecode(vclock: Command, { headerArg }: VclockArgs): void {
  vclock
    .command("decode")
    .description("print the clock of a header as JSON: {actor: {counter, timestamp}} (timestamps in ns, as strings)")
    .argument("<header>", "an X-Mec-Vclock header value")
    .action((header: string) => {
      const clock = headerArg(header);
      if (clock !== undefined) process.stdout.write(`${clockToJsonText(clock)}\n`);
    });
}

function addEncode(vclock: Command, { badInput }: VclockArgs): void {
  vclock
    .command("encode")
    .description("print the header of a clock given as JSON (the output of `mec vclock decode`)")
    .argument("<json>", 'e.g. \'{"n1":{"counter":1,"timestamp":"1390002563231255151"}}\'')
    .option("--canonical", "sort the actors (what the server sends) instead of keeping the JSON's order")
    .action((json: string, opts: { canonical?: boolean }) => {
      let value: unknown;
      try {
        value = JSON.parse(json);
      } catch (e) {
        badInput(`bad JSON ${shown(json)}: not-json: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      const r = clockFromJson(value);
      if (!r.ok) {
        badInput(`bad JSON ${shown(json)}: ${formatVclockError(r.error)}`);
        return;
      }
      process.stdout.write(`${encodeVclock(r.clock, { canonical: opts.canonical === true })}\n`);
    });
}

function addCompare(vclock: Command, { headerArg }: VclockArgs): void {
  vclock
    .command("compare")
    .description("print how clock A stands relative to clock B: equal, before, after or concurrent")
    .argument("<a>", "header A")
    .argument("<b>", "header B")
    .action((a: string, b: string) => {
      const ca = headerArg(a);
      if (ca === undefined) return;
      const cb = headerArg(b);
      if (cb === undefined) return;
      process.stdout.write(`${compare(ca, cb)}\n`);
    });
}

function addMerge(vclock: Command, { badInput, headerArg }: VclockArgs): void {
  vclock
    .command("merge")
    .description("print the merge (pointwise maximum) of two or more clocks as a canonical header")
    .argument("<a>", "header A")
    .argument("<b>", "header B")
    .argument("[more...]", "more headers")
    .action((a: string, b: string, more: string[] | undefined) => {
      const clocks: VClock[] = [];
      for (const h of [a, b, ...(more ?? [])]) {
        const c = headerArg(h);
        if (c === undefined) return;
        clocks.push(c);
      }
      let header: string;
      try {
        header = encodeVclock(mergeAll(clocks));
      } catch (e) {
        badInput(`cannot encode the merged clock: too-large: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
      process.stdout.write(`${header}\n`);
    });
}
