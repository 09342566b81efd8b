// `mec trace view` as a real process (the mec entry, from source in a clone): it re-runs the trace, prints the URL on
// 127.0.0.1 with the port it got (--port 0: any free port), and serves the API there.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mecEntryArgs } from "../../../src/cli/self.ts";
import { viewerRun } from "./viewer-run.ts";

let child: ChildProcess | null = null;
afterAll(() => {
  if (child?.pid !== undefined && child.exitCode === null) child.kill("SIGTERM");
});

describe("mec trace view (process)", () => {
  it("prints a 127.0.0.1 URL and serves /api/trace and /api/step/N there", async () => {
    const lines = viewerRun();
    const file = join(mkdtempSync(join(tmpdir(), "mec-view-")), "run.jsonl");
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    child = spawn(process.execPath, [...mecEntryArgs(), "trace", "view", file, "--port", "0"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 90_000;
    let url: string | null = null;
    while (url === null && Date.now() < deadline && child.exitCode === null) {
      url = /trace viewer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1] ?? null;
      if (url === null) await new Promise((r) => setTimeout(r, 100));
    }
    expect(url, out).not.toBeNull();
    expect(out).not.toMatch(/note:/); // the re-run reproduced the file
    const trace = (await (await fetch(`${url}api/trace`)).json()) as { steps: number; nodes: string[] };
    expect(trace.steps).toBe(lines.length);
    const step = (await (await fetch(`${url}api/step/${lines.length - 1}`)).json()) as { nodes: { node: string }[] };
    expect(step.nodes.map((n) => n.node)).toEqual(trace.nodes.slice(0, step.nodes.length));
    const page = await (await fetch(url!)).text();
    expect(page).toContain("MecDB trace viewer");
  }, 120_000);
});
