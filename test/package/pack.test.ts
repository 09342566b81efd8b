// The package as a user gets it: `npm pack` (which builds dist/ through the prepare script),
// the tarball installed into an empty project, then used with plain Node (no tsx, no sources):
// `import { MecClient } from "mecdb"`, the "mecdb/versioning" and "mecdb/sim" exports, the
// `mec` binary, and a real node started from the installed package and written through.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePortBlock } from "../adapters/free-ports.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SAMPLE = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";

const work = mkdtempSync(join(tmpdir(), "mec-pack-"));
let node: ChildProcess | null = null;
afterAll(() => {
  node?.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 240_000 });
}

describe("the packed package, installed into a fresh project", () => {
  const project = join(work, "app");
  let tarball = "";

  it("packs only the built package (no tests, benches or sources)", () => {
    npm(["pack", "--pack-destination", work, "--silent"], ROOT);
    const name = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(name).toBeDefined();
    tarball = join(work, name!);
    const files = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).split("\n").filter(Boolean);
    expect(files).toContain("package/bin/mec.js");
    expect(files).toContain("package/LICENSE");
    expect(files).toContain("package/dist/src/client/index.js");
    expect(files).toContain("package/dist/src/client/index.d.ts");
    expect(files).toContain("package/dist/sim/index.js");
    expect(files).toContain("package/dist/src/core/versioning/index.js");
    for (const f of files) {
      expect(f).not.toMatch(/^package\/(test|bench|notebooks|\.ci)\//);
      if (f.endsWith(".ts")) expect(f).toMatch(/\.d\.ts$/);
    }
  }, 240_000);

  it("installs with plain npm and imports with plain node", () => {
    execFileSync("mkdir", ["-p", project]);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }));
    npm(["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], project);
    writeFileSync(
      join(project, "use.mjs"),
      [
        'import { MecClient, keyPath } from "mecdb";',
        'import { decodeVclock, clockToJsonText } from "mecdb/versioning";',
        'import { mecdb, runSeed } from "mecdb/sim";',
        `const d = decodeVclock(${JSON.stringify(SAMPLE)});`,
        "if (!d.ok) throw new Error('decode failed');",
        "const seed = runSeed(mecdb, 3);",
        "console.log(JSON.stringify({ client: typeof MecClient, path: keyPath('a/b'), clock: clockToJsonText(d.clock), violations: seed.violations.length }));",
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, ["use.mjs"], { cwd: project, encoding: "utf8", timeout: 120_000 });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { client: string; path: string; clock: string; violations: number };
    expect(out.client).toBe("function");
    expect(out.path).toBe("/mec/a%2Fb");
    expect(out.clock).toBe('{"cormacrelf":{"counter":1,"timestamp":"1389861759031483477"}}');
    expect(out.violations).toBe(0);
  }, 240_000);

  it("runs the installed mec binary with plain node", () => {
    const mec = join(project, "node_modules", ".bin", "mec");
    const version = spawnSync(mec, ["--version"], { encoding: "utf8" });
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const decoded = spawnSync(mec, ["vclock", "decode", SAMPLE], { encoding: "utf8" });
    expect(decoded.status).toBe(0);
    expect(decoded.stdout.trim()).toBe('{"cormacrelf":{"counter":1,"timestamp":"1389861759031483477"}}');
  });

  it("boots a node from the installed package and the installed client writes and reads through it", async () => {
    const port = await freePortBlock(3);
    const config = join(work, "node.toml");
    writeFileSync(
      config,
      [`name = "pkg-node"`, `port = ${port}`, `httpport = ${port + 2}`, `root = ${JSON.stringify(join(work, "data"))}`, "n = 1", "r = 1", "w = 1", 'log_level = "warn"', ""].join("\n"),
    );
    node = spawn(join(project, "node_modules", ".bin", "mec"), ["--config", config], { stdio: ["ignore", "ignore", "pipe"] });
    writeFileSync(
      join(project, "client.mjs"),
      [
        'import { MecClient, text } from "mecdb";',
        `const c = new MecClient("http://127.0.0.1:${port + 2}");`,
        "for (let i = 0; i < 200; i++) { try { await c.get('probe'); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }",
        "await c.put('greeting', 'hello', { contentType: 'text/plain' });",
        "const got = await c.get('greeting');",
        "console.log(got.status, text(got.siblings[0].value));",
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, ["client.mjs"], { cwd: project, encoding: "utf8", timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("ok hello");
  }, 90_000);
});
