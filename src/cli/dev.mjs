// `mec` from the TypeScript sources (a clone, tests, development): registers tsx, then runs the
// same entry the compiled bin/mec.js runs. Workers and child processes started from source use
// it too (src/cli/self.ts), so a source run never mixes with a stale build.
import { register } from "tsx/esm/api";
register();
await import("./run.ts");
