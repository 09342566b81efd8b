// Loads one of the repository's TypeScript modules into a notebook. tslab compiles notebook
// cells with its own TypeScript 5.0, which rejects this repository's `.ts` import paths, so the
// modules go through tsx's require hook (the root's dev dependency) instead:
//   const mec = require("./notebooks/load.cjs")("sim/lab/notebook.ts");
const path = require("node:path");
const { require: tsxRequire } = require("tsx/cjs/api");

const root = path.resolve(__dirname, "..");

module.exports = function load(relativePath) {
  return tsxRequire(path.join(root, relativePath), __filename);
};
