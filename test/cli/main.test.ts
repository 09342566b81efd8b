// The `mec` command as a user meets it, in process: --version, `mec help CMD`, suggestions for
// typos, one error style (`mec: ...` on stderr) with exit code 2, bare `mec vclock` like bare
// `mec`, numeric defaults shown as numbers, `mec sim --help` examples, progress of many-seed
// runs on stderr (plain lines when stderr is not a terminal, none with --json or --quiet),
// and a README command table that lists every option of every command.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Command } from "commander";
import { buildProgram, packageVersion } from "../../src/cli/main.ts";
import { runMec } from "./run-mec.ts";

const run = runMec;

afterEach(() => vi.restoreAllMocks());

describe("mec: the basics users expect", () => {
  it("--version prints the package version", async () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string };
    const r = await run("--version");
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(pkg.version);
    expect(packageVersion()).toBe(pkg.version);
  });

  it("mec help sim prints the sim help on stdout, exit 0", async () => {
    const r = await run("help", "sim");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Usage: mec sim \[options\]/);
    expect(r.out).toContain("--seeds <count>");
    expect(r.out).toContain("Examples:"); // the same text as mec sim --help
    const nested = await run("help", "vclock", "decode");
    expect(nested.out).toMatch(/^Usage: mec vclock decode/);
  });

  it("a mistyped command gets a suggestion, `mec: ...` on stderr and exit 2", async () => {
    for (const [argv, want] of [
      [["simm"], 'mec: unknown command "simm" (did you mean sim?)'],
      [["clustr"], 'mec: unknown command "clustr" (did you mean cluster?)'],
      [["help", "simm"], 'mec: unknown command "simm" (did you mean sim?)'],
    ] as const) {
      const r = await run(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err.trim()).toBe(want);
      expect(r.out).toBe("");
    }
    const sub = await run("vclock", "decdoe", "x");
    expect(sub.code).toBe(2);
    expect(sub.err).toMatch(/^mec: .*decdoe.*\(did you mean decode\?\)/);
  });

  it("bad option values: one `mec: ...` line, exit 2", async () => {
    const r = await run("sim", "--seeds", "many");
    expect(r.code).toBe(2);
    expect(r.err).toBe('mec: --seeds must be a non-negative integer, got "many"\n');
    const unknown = await run("sim", "--sedes", "3");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/^mec: unknown option '--sedes'/);
  });

  it("bare `mec vclock` behaves like bare `mec`: help on stderr, a hint, exit 2", async () => {
    const bare = await run();
    const vclock = await run("vclock");
    for (const r of [bare, vclock]) {
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(/^Usage: mec/);
      expect(r.err.trim().split("\n").at(-1)).toMatch(/^mec: give /);
    }
  });
});

describe("help text", () => {
  it("numeric defaults are shown as numbers, not strings", async () => {
    const sim = (await run("help", "sim")).out;
    expect(sim).toContain("(default: 100)");
    const lab = (await run("help", "lab", "pbs")).out;
    expect(lab).toContain("(default: 3)");
    expect(lab).toContain("(default: 50000)");
    const cluster = (await run("help", "cluster")).out;
    expect(cluster).toContain("(default: 3)");
    expect(cluster).toContain("(default: 7000)");
    // No command shows a quoted number as a default.
    const program = buildProgram({ exitCode: 0 });
    for (const cmd of allCommands(program)) expect(cmd.helpInformation(), cmd.name()).not.toMatch(/\(default: "\d+"\)/);
  });

  it("mec sim --help ends with examples", async () => {
    const r = await run("sim", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("Examples:");
    expect(r.out).toContain("mec sim --seeds 1000");
    expect(r.out).toContain("mec sim --scenario scenarios/");
  });
});

describe("progress of many seeds", () => {
  /** Runs `mec sim ARGS` with a stderr that is not a terminal (as in CI or a pipe). */
  async function runPiped(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: false, configurable: true });
    try {
      return await run("sim", ...argv);
    } finally {
      if (had) Object.defineProperty(process.stderr, "isTTY", had);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  }

  it("stderr not a terminal: plain progress lines (start and end at least), stdout unchanged", async () => {
    const r = await runPiped("--seeds", "3", "--workers", "1", "--seed", "2");
    expect(r.code).toBe(0);
    const lines = r.err.trim().split("\n");
    expect(lines[0]).toMatch(/^mec sim: 0\/3 seeds, 0 failing, \d+ s elapsed$/);
    expect(lines.at(-1)).toMatch(/^mec sim: 3\/3 seeds, 0 failing, \d+ s elapsed$/);
    for (const line of lines) expect(line).toMatch(/^mec sim: \d+\/3 seeds, \d+ failing, \d+ s elapsed(, about \d+ s left)?$/);
    expect(r.err).not.toMatch(/\u001b\[/); // no terminal escapes in a log
    expect(r.out).toMatch(/^seeds=3 /);
  }, 120_000);

  it("--quiet and --json print no progress", async () => {
    const quiet = await runPiped("--seeds", "2", "--workers", "1", "--seed", "2", "--quiet");
    expect(quiet.code).toBe(0);
    expect(quiet.err).toBe("");
    expect(quiet.out).toMatch(/^seeds=2 /);
    const json = await runPiped("--seeds", "2", "--workers", "1", "--seed", "2", "--json");
    expect(json.err).toBe("");
    expect(JSON.parse(json.out)).toMatchObject({ seeds: 2 });
  }, 120_000);
});

describe("progress of mec lab", () => {
  it("stderr not a terminal: plain lines; --quiet: none", async () => {
    const had = Object.getOwnPropertyDescriptor(process.stderr, "isTTY");
    Object.defineProperty(process.stderr, "isTTY", { value: false, configurable: true });
    try {
      const argv = ["lab", "pbs", "--fit", "LNKD-SSD", "--r", "1", "--w", "1", "--trials", "1000"];
      const r = await run(...argv);
      expect(r.code).toBe(0);
      const lines = r.err.trim().split("\n");
      expect(lines[0]).toMatch(/^mec lab pbs: 0\/2000 trials, \d+ s elapsed$/);
      expect(lines.at(-1)).toMatch(/^mec lab pbs: 2000\/2000 trials, \d+ s elapsed$/);
      expect(r.out).toMatch(/^fit=LNKD-SSD n=3/);
      const quiet = await run(...argv, "--quiet");
      expect(quiet.err).toBe("");
      expect(quiet.out).toBe(r.out.replace(/took [\d.]+ s/, quiet.out.match(/took [\d.]+ s/)![0]));
    } finally {
      if (had) Object.defineProperty(process.stderr, "isTTY", had);
      else delete (process.stderr as { isTTY?: boolean }).isTTY;
    }
  }, 300_000);
});

describe("README", () => {
  it("the command table lists every option of every command", () => {
    const readme = readFileSync("README.md", "utf8");
    const start = readme.indexOf("## The `mec` command");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
    const program = buildProgram({ exitCode: 0 });
    const missing: string[] = [];
    for (const cmd of allCommands(program)) {
      for (const opt of cmd.options) {
        const flag = opt.long ?? opt.short ?? "";
        if (flag === "--help" || flag === "--version") continue;
        if (!section.includes(flag)) missing.push(`${cmd.name()} ${flag}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}
