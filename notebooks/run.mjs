// `npm run notebooks`: executes every notebook headless with real Jupyter (Debian's
// jupyter-nbconvert) on the committed tslab kernelspec, and fails on any error output (an
// error, or anything on stderr) or on an output that differs from the committed one. Outputs
// are deterministic (seeded runs) except in cells tagged "nondeterministic", whose outputs are
// not compared. Installs tslab first (npm ci in notebooks/) when it is missing.
//
//   npm run notebooks                      # execute and compare all
//   npm run notebooks -- 03-quorums        # only notebooks whose name contains this
//   npm run notebooks -- --update          # execute and write the outputs back (after an edit)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const args = process.argv.slice(2);
const update = args.includes("--update");
const filters = args.filter((a) => !a.startsWith("--"));
const NBCONVERT = "/usr/bin/jupyter-nbconvert";

function fail(message) {
  process.stderr.write(`notebooks: ${message}\n`);
  process.exit(1);
}

if (!existsSync(NBCONVERT)) fail(`${NBCONVERT} not found: apt-get install jupyter-nbconvert (listed in .ci/apt-packages)`);
if (!existsSync(join(here, "node_modules", "tslab", "package.json"))) {
  process.stdout.write("notebooks: installing tslab (npm ci in notebooks/)\n");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: here, stdio: "inherit" });
}
if (!existsSync(join(root, "node_modules", "tsx"))) fail("the root's node_modules has no tsx: run npm ci at the repository root first");

/** The comparable part of a cell's outputs. */
function normalized(outputs) {
  return JSON.stringify(
    (outputs ?? []).map((o) => {
      const text = (v) => (Array.isArray(v) ? v.join("") : (v ?? ""));
      if (o.output_type === "stream") return { stream: o.name, text: text(o.text) };
      if (o.output_type === "error") return { error: o.ename, value: o.evalue };
      const data = {};
      for (const [mime, v] of Object.entries(o.data ?? {}).sort()) data[mime] = text(v);
      return { data };
    }),
  );
}

function problems(nb) {
  const out = [];
  nb.cells.forEach((cell, i) => {
    for (const o of cell.outputs ?? []) {
      if (o.output_type === "error") out.push(`cell ${i + 1}: error ${o.ename}: ${o.evalue}`);
      if (o.output_type === "stream" && o.name === "stderr") out.push(`cell ${i + 1}: stderr: ${[].concat(o.text).join("").slice(0, 400)}`);
    }
  });
  return out;
}

const names = readdirSync(here)
  .filter((f) => f.endsWith(".ipynb") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (names.length === 0) fail("no notebooks matched");
const work = mkdtempSync(join(tmpdir(), "mec-notebooks-"));
const started = Date.now();
let failures = 0;
for (const name of names) {
  const t0 = Date.now();
  const src = join(here, name);
  const committed = JSON.parse(readFileSync(src, "utf8"));
  const res = spawnSync(
    NBCONVERT,
    ["--to", "notebook", "--execute", "--allow-errors", "--ExecutePreprocessor.timeout=600", "--output-dir", work, "--output", name, src],
    { cwd: root, env: { ...process.env, JUPYTER_PATH: join(here, "jupyter") }, encoding: "utf8" },
  );
  const outPath = join(work, name);
  if (res.status !== 0 || !existsSync(outPath)) {
    process.stdout.write(`FAIL ${name}: nbconvert exited ${res.status}\n${res.stderr}\n`);
    failures++;
    continue;
  }
  const executed = JSON.parse(readFileSync(outPath, "utf8"));
  const found = problems(executed);
  if (!update) {
    executed.cells.forEach((cell, i) => {
      const tags = cell.metadata?.tags ?? [];
      if (cell.cell_type !== "code" || tags.includes("nondeterministic")) return;
      if (normalized(cell.outputs) !== normalized(committed.cells[i]?.outputs)) found.push(`cell ${i + 1}: output differs from the committed one (run with --update after a deliberate change)`);
    });
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (found.length > 0) {
    failures++;
    process.stdout.write(`FAIL ${name} (${secs} s)\n${found.map((f) => `  ${f}`).join("\n")}\n`);
    continue;
  }
  if (update) {
    // Outputs and execution counts from the run; no per-cell timing metadata (it churns).
    for (const cell of executed.cells) if (cell.metadata) delete cell.metadata.execution;
    writeFileSync(src, `${JSON.stringify(executed, null, 1)}\n`);
  }
  process.stdout.write(`ok   ${name} (${secs} s)${update ? " (outputs written)" : ""}\n`);
}
rmSync(work, { recursive: true, force: true });
const total = ((Date.now() - started) / 1000).toFixed(1);
process.stdout.write(`${names.length - failures}/${names.length} notebooks passed in ${total} s\n`);
process.exit(failures > 0 ? 1 : 0);
