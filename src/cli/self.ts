// How to start `mec` again in the form this process runs in: from the compiled package
// (dist/src/cli/run.js) or from the TypeScript sources (src/cli/dev.mjs, through tsx). The
// cluster supervisor and the tests spawn node processes with it.
import { fileURLToPath } from "node:url";

const fromSource = import.meta.url.endsWith(".ts");

/** argv (without the node binary) that runs `mec` in this process's form. */
export function mecEntryArgs(): string[] {
  return [fileURLToPath(new URL(fromSource ? "./dev.mjs" : "./run.js", import.meta.url))];
}
