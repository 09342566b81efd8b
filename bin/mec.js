#!/usr/bin/env node
// Entry point of the `mec` command: the compiled JavaScript in dist/ (built by `npm run build`,
// which `npm install` in a clone and `npm pack` run through the prepare script).
try {
  await import("../dist/src/cli/run.js");
} catch (err) {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/src/cli/run.js")) {
    process.stderr.write("mec: not built: run `npm run build` (or `npm install`) in the package directory\n");
    process.exitCode = 1;
  } else {
    throw err;
  }
}
