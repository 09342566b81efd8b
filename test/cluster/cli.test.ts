// The `mec` command as a user runs it: `mec --config FILE` with bad configs, and `mec cluster`
// (boot, URLs and curl examples, Ctrl-C, a node that fails at boot).
import { afterAll, describe, expect, it } from "vitest";
import { createServer, type Server } from "node:net";
import { createServer as createHttpServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "../adapters/free-ports.ts";
import { killAllSpawned, ping, sleep, spawnMec } from "./harness.ts";

const tmp = mkdtempSync(join(tmpdir(), "mec-cli-test-"));
afterAll(async () => {
  await killAllSpawned();
  rmSync(tmp, { recursive: true, force: true });
});

function writeConfig(name: string, body: string): string {
  const path = join(tmp, name);
  writeFileSync(path, body);
  return path;
}

describe("mec --config FILE", () => {
  it("exits 2 naming an unknown key", async () => {
    const path = writeConfig("unknown.toml", `name = "a"\nport = 7000\nhttpport = 3000\nroot = "data"\nhttp_port = 3001\n`);
    const p = spawnMec(["--config", path]);
    const exit = await p.waitExit(20_000);
    expect(exit.code).toBe(2);
    expect(p.stderr).toContain('key "http_port": unknown key');
    expect(p.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("exits 2 naming a key of the wrong type, and a missing file", async () => {
    const path = writeConfig("wrongtype.toml", `name = "a"\nport = "seven"\nhttpport = 3000\nroot = "data"\n`);
    const p = spawnMec(["--config", path]);
    expect((await p.waitExit(20_000)).code).toBe(2);
    expect(p.stderr).toMatch(/key "port"/);
    const q = spawnMec(["--config", join(tmp, "nope.toml")]);
    expect((await q.waitExit(20_000)).code).toBe(2);
    expect(q.stderr).toMatch(/nope\.toml.*no such file/);
  });

  it("boots a single node that serves and stops cleanly on SIGTERM", async () => {
    const base = await freePortBlock(3);
    const path = writeConfig(
      "single.toml",
      `name = "solo"\nport = ${base}\nhttpport = ${base + 2}\nroot = "solo-data"\nn = 1\nr = 1\nw = 1\nsync = false\nlog_level = "info"\n`,
    );
    const p = spawnMec(["--config", path]);
    const url = `http://127.0.0.1:${base + 2}`;
    const until = Date.now() + 20_000;
    while (!(await ping(url))) {
      if (p.exit !== null || Date.now() > until) throw new Error(`node did not start: ${p.stderr}`);
      await sleep(50);
    }
    const put = await fetch(`${url}/mec/hello`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "world" });
    expect(put.status).toBe(200);
    expect(await (await fetch(`${url}/mec/hello`)).text()).toBe("world");
    expect(existsSync(join(tmp, "solo-data"))).toBe(true); // root relative to the config file
    // Structured logs: pino JSON lines on stdout, with the node's name.
    const ready = p.stdout.split("\n").find((l) => l.includes('"node ready"'));
    expect(ready).toBeDefined();
    expect(JSON.parse(ready!)).toMatchObject({ node: "solo", url });
    p.proc.kill("SIGTERM");
    expect(await p.waitExit(10_000)).toEqual({ code: 0, signal: null });
    expect(p.stdout).toContain('"node stopped"');
  });

  it("boots the original README's four-key config (no [[node]]) as a working single node, n/r/w capped with a notice", async () => {
    const base = await freePortBlock(3);
    // The original README's example, without its [[node]] list: name, port, httpport, root.
    const path = writeConfig(
      "readme.toml",
      `# name of instance must be unique in cluster.\nname = "apple-juice-93"\n# on which the cluster communicates\nport = ${base}\n# on which the HTTP server runs\nhttpport = ${base + 2}\n# created if it doesn't already exist\nroot = "readme-data"\n`,
    );
    const p = spawnMec(["--config", path]);
    const url = `http://127.0.0.1:${base + 2}`;
    const until = Date.now() + 20_000;
    while (!(await ping(url))) {
      if (p.exit !== null || Date.now() > until) throw new Error(`node did not start: ${p.stderr}`);
      await sleep(50);
    }
    const put = await fetch(`${url}/mec/greeting`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "hello" });
    expect(put.status).toBe(200);
    const got = await fetch(`${url}/mec/greeting`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("hello");
    const del = await fetch(`${url}/mec/greeting`, { method: "DELETE", headers: { "x-mec-vclock": got.headers.get("x-mec-vclock") ?? "" } });
    expect(del.status).toBe(204);
    expect((await fetch(`${url}/mec/greeting`)).status).toBe(404);
    const stats = (await (await fetch(`${url}/stats`)).json()) as { limits: { n: number; r: number; w: number } };
    expect(stats.limits).toMatchObject({ n: 1, r: 1, w: 1 });
    const notices = p.stdout.split("\n").filter((l) => l.includes("config: n = 3 is more than the 1 node of the cluster"));
    expect(notices).toHaveLength(1);
    p.proc.kill("SIGTERM");
    expect(await p.waitExit(10_000)).toEqual({ code: 0, signal: null });
  });

  it("exits 1 with a clear message when its HTTP port is taken", async () => {
    const base = await freePortBlock(3);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(base + 2, "127.0.0.1", r));
    try {
      const path = writeConfig("taken.toml", `name = "t"\nport = ${base}\nhttpport = ${base + 2}\nroot = "taken-data"\nn = 1\nr = 1\nw = 1\n`);
      const p = spawnMec(["--config", path]);
      expect((await p.waitExit(20_000)).code).toBe(1);
      expect(p.stderr).toContain(`cannot listen for HTTP on 127.0.0.1:${base + 2}: already in use`);
    } finally {
      blocker.close();
    }
  });
});

describe("mec cluster", () => {
  it("starts the nodes, prints URLs and curl examples, and stops them all on Ctrl-C", async () => {
    const base = await freePortBlock(25);
    const dir = join(tmp, "cluster");
    const p = spawnMec(["cluster", "--nodes", "2", "--dir", dir, "--base-port", String(base), "--http-base-port", String(base + 22), "--log-level", "warn"]);
    const until = Date.now() + 40_000;
    while (!p.stdout.includes("Press Ctrl-C")) {
      if (p.exit !== null || Date.now() > until) throw new Error(`cluster did not start: ${p.stdout}\n${p.stderr}`);
      await sleep(100);
    }
    const urls = [`http://127.0.0.1:${base + 22}`, `http://127.0.0.1:${base + 23}`];
    for (const url of urls) {
      expect(p.stdout).toContain(url);
      expect(await ping(url)).toBe(true);
    }
    expect(p.stdout).toContain(`curl -i -X PUT -H 'Content-Type: text/plain' --data-binary 'hello' ${urls[0]}/mec/greeting`);
    expect(p.stdout).toContain("X-Mec-Vclock: $VC");
    expect(readFileSync(join(dir, "node-1.toml"), "utf8")).toContain(`port = ${base}`);
    expect(readFileSync(join(dir, "node-2.toml"), "utf8")).toContain(`port = ${base + 10}`);

    // Writes through one node are read through the other.
    expect((await fetch(`${urls[0]}/mec/k`, { method: "PUT", body: "v", headers: { "content-type": "text/plain" } })).status).toBe(200);
    expect(await (await fetch(`${urls[1]}/mec/k`)).text()).toBe("v");

    p.proc.kill("SIGINT");
    expect(await p.waitExit(20_000)).toEqual({ code: 0, signal: null });
    expect(p.stdout).toContain("Cluster stopped.");
    for (const url of urls) expect(await ping(url)).toBe(false);
  });

  it("leaves no orphan nodes when the supervisor itself is SIGKILLed", async () => {
    const base = await freePortBlock(12);
    const p = spawnMec(["cluster", "--nodes", "1", "--dir", join(tmp, "cluster-orphan"), "--base-port", String(base), "--http-base-port", String(base + 11), "--log-level", "warn"]);
    const until = Date.now() + 40_000;
    while (!p.stdout.includes("Press Ctrl-C")) {
      if (p.exit !== null || Date.now() > until) throw new Error(`cluster did not start: ${p.stdout}\n${p.stderr}`);
      await sleep(100);
    }
    const url = `http://127.0.0.1:${base + 11}`;
    expect(await ping(url)).toBe(true);
    p.proc.kill("SIGKILL");
    const gone = Date.now() + 10_000;
    while ((await ping(url)) && Date.now() < gone) await sleep(100);
    expect(await ping(url)).toBe(false);
    // It stopped cleanly (the log says so), not by a signal: poll the log (bounded) for the line.
    const logPath = join(tmp, "cluster-orphan", "node-1.log");
    const readLog = (): string => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
    const logged = Date.now() + 10_000;
    while (!readLog().includes('"supervisor gone"') && Date.now() < logged) await sleep(50);
    expect(readLog()).toContain('"supervisor gone"');
  });

  it("prints a node's stderr and exits non-zero when it dies at boot", async () => {
    const base = await freePortBlock(25);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(base + 23, "127.0.0.1", r)); // node-2's HTTP port
    try {
      const p = spawnMec(["cluster", "--nodes", "2", "--dir", join(tmp, "cluster-fail"), "--base-port", String(base), "--http-base-port", String(base + 22)]);
      const exit = await p.waitExit(40_000);
      expect(exit.code).toBe(1);
      expect(p.stderr).toContain("node-2 exited during boot");
      expect(p.stderr).toContain(`cannot listen for HTTP on 127.0.0.1:${base + 23}: already in use`);
      expect(await ping(`http://127.0.0.1:${base + 22}`)).toBe(false); // node-1 was stopped too
    } finally {
      blocker.close();
    }
  });

  it("refuses a foreign server on a node's HTTP port: exit 1 naming the node and why, never 'cluster ready'", async () => {
    const base = await freePortBlock(25);
    // Another program on node-1's HTTP port that answers 200 to everything, /ping included.
    const foreign = createHttpServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("pong");
    });
    await new Promise<void>((r) => foreign.listen(base + 22, "127.0.0.1", r));
    try {
      const p = spawnMec(["cluster", "--nodes", "2", "--dir", join(tmp, "cluster-foreign"), "--base-port", String(base), "--http-base-port", String(base + 22), "--log-level", "warn"]);
      const exit = await p.waitExit(40_000);
      expect(p.stdout).not.toContain("cluster ready");
      expect(exit.code).toBe(1);
      expect(p.stderr).toContain(`node-1: http://127.0.0.1:${base + 22} is answered by another program`);
      expect(p.stderr).toContain(`cannot listen for HTTP on 127.0.0.1:${base + 22}: already in use`);
      expect(p.stderr).toMatch(/node-1 exited during boot \(code 1\)/);
      expect(await ping(`http://127.0.0.1:${base + 23}`)).toBe(false); // node-2 was stopped too
    } finally {
      foreign.close();
    }
  });

  it("rejects bad options with exit 2", async () => {
    const p = spawnMec(["cluster", "--nodes", "0"]);
    expect((await p.waitExit(20_000)).code).toBe(2);
    expect(p.stderr).toContain("--nodes");
  });
});
