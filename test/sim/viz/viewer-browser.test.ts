// The trace viewer in a real browser: Debian's chromium (/usr/bin/chromium, installed by
// .ci/run from .ci/apt-packages) driven by playwright-core, a fresh profile, the page served
// by the real viewer server on a free 127.0.0.1 port. Load the page, step forward and back,
// jump to a crash by time, check that the state panel and the diagram change, take a screenshot.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { replayWithStates } from "../../../sim/viz/replay-states.ts";
import { loadViewerData, startViewer } from "../../../sim/viz/viewer-server.ts";
import { viewerRun } from "./viewer-run.ts";

// The page's globals, as the callbacks page.waitForFunction runs in the browser see them.
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(selector: string): unknown };

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

let app: FastifyInstance;
let url: string;
let context: BrowserContext;
let profile: string;
let crashT = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (listed in .ci/apt-packages)`);
  const lines = viewerRun();
  crashT = lines.find((l) => l.ev === "crash")!.t;
  const replay = await replayWithStates(lines[0]!);
  ({ app, url } = await startViewer(loadViewerData(lines, replay, null), 0));
  profile = mkdtempSync(join(tmpdir(), "mec-viewer-profile-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1600, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await app?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("trace viewer in chromium", () => {
  it("steps through a run: the state panel and the diagram follow the step", async () => {
    const page = await context.newPage();
    const failed: string[] = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    page.on("request", (r) => {
      if (!r.url().startsWith(url)) failed.push(`external: ${r.url()}`);
    });
    await page.goto(url);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    expect(await page.locator("#state .node").count()).toBe(3);
    const state0 = await page.locator("#state").innerText();
    expect(state0).toContain("n1");

    // Forward one event at a time until the state panel changes.
    let state = state0;
    for (let i = 0; i < 40 && state === state0; i++) {
      await page.click("#fwd");
      await page.waitForFunction((n) => document.body.dataset["step"] === String(n), i + 1);
      state = await page.locator("#state").innerText();
    }
    expect(state).not.toBe(state0);
    await page.click("#back");
    await page.waitForFunction(() => Number(document.body.dataset["step"]) >= 0);

    // Jump to the crash by time: that node is shown down, and the diagram moved.
    const svgBefore = await page.locator("#diagram").innerHTML();
    await page.fill("#time", String(crashT));
    await page.click("#jump-time");
    await page.waitForFunction(() => document.querySelector("#state .badge.down") !== null, undefined, { timeout: 30_000 });
    const svgAfter = await page.locator("#diagram").innerHTML();
    expect(svgAfter).toContain("<svg");
    expect(svgAfter).not.toBe(svgBefore);
    expect(await page.locator("#diagram").innerText()).toMatch(/crash/);

    // Arrow keys step too.
    const at = Number(await page.evaluate(() => document.body.dataset["step"]));
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction((n) => document.body.dataset["step"] === String(n + 1), at);

    const shot = join(profile, "viewer.png");
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(failed).toEqual([]);
  }, 120_000);
});
