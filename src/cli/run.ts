// The process entry of `mec`: runs the command line and sets the exit code. bin/mec.js loads
// the compiled form of this file (dist/); src/cli/dev.mjs loads it from source through tsx.
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
