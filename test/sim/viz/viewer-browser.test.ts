// The trace viewer in a real browser: Debian's chromium (/usr/bin/chromium, installed by
// .ci/run from .ci/apt-packages) driven by playwright-core, a fresh profile, the page served
// by the real viewer server on a free 127.0.0.1 port. Load the page, step forward and back,
// jump to a crash by time, check that the state panel and the diagram change, take a screenshot.
// Then a hand-made handoff trace on a second server: the handoff panel, "next ring epoch",
// "next transfer", a click on the unfinished transfer.
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { replayWithStates } from "../../../sim/viz/replay-states.ts";
import { loadViewerData, startViewer } from "../../../sim/viz/viewer-server.ts";
import { handoffTraceLines } from "./handoff-trace.ts";
import { viewerRun } from "./viewer-run.ts";

// The page's globals, as the callbacks page.waitForFunction runs in the browser see them.
declare const document: { body: { dataset: Record<string, string | undefined> }; querySelector(selector: string): { textContent: string; innerHTML: string } | null };

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

let app: FastifyInstance;
let url: string;
let handoffApp: FastifyInstance;
let handoffUrl: string;
let context: BrowserContext;
let profile: string;
let crashT = 0;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install -y chromium (listed in .ci/apt-packages)`);
  const lines = viewerRun();
  crashT = lines.find((l) => l.ev === "crash")!.t;
  const replay = await replayWithStates(lines[0]!);
  ({ app, url } = await startViewer(loadViewerData(lines, replay, null), 0));
  ({ app: handoffApp, url: handoffUrl } = await startViewer(loadViewerData(handoffTraceLines(), null, "hand-made trace: nothing to re-run"), 0));
  profile = mkdtempSync(join(tmpdir(), "mec-viewer-profile-"));
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1600, height: 1000 } });
}, 120_000);

afterAll(async () => {
  await context?.close();
  await app?.close();
  await handoffApp?.close();
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
    // The diagram is redrawn after the state panel: wait for it (bounded) rather than read at once.
    await page.waitForFunction((before) => document.querySelector("#diagram")?.innerHTML !== before, svgBefore, { timeout: 30_000 }).catch(() => undefined);
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

describe("trace viewer in chromium: ownership handoff", () => {
  it("lists epochs and transfers, jumps to the next epoch and transfer, and to a clicked transfer", async () => {
    const lines = handoffTraceLines();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on("requestfailed", (r) => failed.push(r.url()));
    await page.goto(handoffUrl);
    await page.waitForSelector("body[data-ready='1']", { timeout: 30_000 });
    const panel = page.locator("#handoff");
    expect(await panel.isVisible()).toBe(true);
    expect(await panel.innerText()).toMatch(/Ownership handoff: 6 transfers \(5 done, 1 unfinished\)/);
    expect(await page.locator("#handoff .row.epoch").count()).toBe(2);
    expect(await page.locator("#handoff .row.transfer").count()).toBe(6);
    expect(await page.locator("#state").innerText()).toContain("hand-made trace: nothing to re-run");

    const epoch1 = lines.findIndex((l) => l.ev === "node-event" && (l["event"] as { type: string }).type === "ring-changed");
    await page.click("#next-epoch");
    await page.waitForFunction((n) => document.body.dataset["step"] === String(n), epoch1);
    expect(await page.locator("#diagram").innerText()).toContain("ring epoch 1: n4 joins");

    const firstTransfer = lines.findIndex((l, i) => i > epoch1 && l.ev === "node-event" && (l["event"] as { type: string }).type === "transfer-started");
    await page.click("#next-transfer");
    await page.waitForFunction((n) => document.body.dataset["step"] === String(n), firstTransfer);
    const firstSend = lines.findIndex((l, i) => i > firstTransfer && l.ev === "send" && String(l["type"]).startsWith("transfer"));
    await page.click("#next-transfer");
    await page.waitForFunction((n) => document.body.dataset["step"] === String(n), firstSend);
    expect(await page.locator("#diagram").innerText()).toMatch(/transfer p\d+: \d+ objects?/);
    expect(await page.locator("#handoff .row.transfer.active").count()).toBe(1);

    // The unfinished transfer: its receiver crashed, the batch was dropped.
    await page.click("#handoff .row.transfer.unfinished");
    await page.waitForFunction(() => document.querySelector("#diagram")?.textContent?.includes("down") === true, undefined, { timeout: 30_000 });
    expect(await page.locator("#handoff .row.transfer.unfinished.active").count()).toBe(1);
    const shot = join(profile, "viewer-handoff.png");
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(failed).toEqual([]);
  }, 120_000);
});
