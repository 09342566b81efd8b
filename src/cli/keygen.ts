// `mec keygen [--out FILE] [--name NAME]`: makes a CURVE key pair for a node. With --out, the
// pair goes to FILE (mode 0600, refused if FILE exists) for the node's `curve_key_file`, and
// the public key is printed for the other nodes' `[[node]] curve_public_key`; without --out,
// the key file's text is printed.
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { generateKeyPair, keyFileText, writeKeyFile } from "../adapters/curve-keys.ts";
import { UsageError, type CommandOutcome } from "./errors.ts";

export function registerKeygen(program: Command, outcome: CommandOutcome): void {
  program
    .command("keygen")
    .description("make a CURVE key pair for a node (curve_key_file; its public key goes in the other nodes' [[node]] curve_public_key)")
    .option("--out <file>", "write the key pair to this file (mode 0600) and print the public key")
    .option("--name <name>", "the node's name, for the file's comment", "")
    .action((opts: { out?: string; name: string }) => {
      const pair = generateKeyPair();
      if (opts.out === undefined) {
        process.stdout.write(keyFileText(pair, opts.name));
      } else {
        if (existsSync(opts.out)) throw new UsageError(`${opts.out} exists: not overwriting a key file`);
        writeKeyFile(opts.out, pair, opts.name);
        process.stdout.write(`curve_public_key = "${pair.publicKey}"\n`);
      }
      outcome.exitCode = 0;
    });
}
