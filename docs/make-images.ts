// Makes the README's pictures (run from the repository root: node --import tsx docs/make-images.ts):
//   docs/concurrent-writes.png  the space-time diagram of scenarios/concurrent_writes_make_siblings.toml
//                               (mec trace svg, then rsvg-convert from Debian's librsvg2-bin)
//   docs/viewer-overwrite.png   the trace viewer on a failing planted-bug seed (--bug overwrite),
//                               at the write the violation names (Debian's chromium via playwright-core)
//   docs/handoff.png            the diagram of the hand-made handoff trace (test/sim/viz/fixtures/handoff.jsonl):
//                               n4 joins, transfers as thick arrows, the ring epoch line, the transfers summary
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { parseTraceLines } from "../sim/viz/model.ts";
import { replayWithStates } from "../sim/viz/replay-states.ts";
import { loadViewerData, startViewer } from "../sim/viz/viewer-server.ts";

const tmp = mkdtempSync(join(tmpdir(), "mec-images-"));
const mec = (...args: string[]): void => {
  try {
    execFileSync("node", ["src/cli/dev.mjs", ...args], { stdio: "inherit" });
  } catch {
    // mec sim exits 1 on a violation: that is the point of the second picture.
  }
};

mec("sim", "--scenario", "scenarios/concurrent_writes_make_siblings.toml", "--trace", join(tmp, "cw.jsonl"));
mec("trace", "svg", join(tmp, "cw.jsonl"), "-o", join(tmp, "cw.svg"), "--to-ms", "322");
execFileSync("rsvg-convert", [join(tmp, "cw.svg"), "-o", "docs/concurrent-writes.png"]);
mec("trace", "svg", "test/sim/viz/fixtures/handoff.jsonl", "-o", join(tmp, "handoff.svg"), "--from-ms", "95", "--to-ms", "120");
execFileSync("rsvg-convert", [join(tmp, "handoff.svg"), "-o", "docs/handoff.png"]);

const SEED = process.env["SEED"] ?? "23";
mec("sim", "--seed", SEED, "--bug", "overwrite", "--no-shrink", "--trace", join(tmp, "bug.jsonl"));
const lines = parseTraceLines(readFileSync(join(tmp, "bug.jsonl"), "utf8"));
const { app, url } = await startViewer(loadViewerData(lines, await replayWithStates(lines[0]!), null), 0);
const profile = join(tmp, "profile");
const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const context = await chromium.launchPersistentContext(profile, { executablePath: "/usr/bin/chromium", headless: true, args: flags, viewport: { width: 1700, height: 1150 } });
const page = await context.newPage();
await page.goto(url);
await page.waitForSelector("body[data-ready='1']");
const before = await page.evaluate(() => document.body.dataset["step"]);
await page.click("#jump-violation");
await page.waitForFunction((b) => document.body.dataset["step"] !== b, before);
await page.waitForTimeout(300);
await page.screenshot({ path: "docs/viewer-overwrite.png" });
await context.close();
await app.close();
rmSync(tmp, { recursive: true, force: true });
console.log("wrote docs/concurrent-writes.png, docs/handoff.png and docs/viewer-overwrite.png");
