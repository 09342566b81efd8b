// A node beyond loopback, as real processes: a public bind without CURVE keys refuses to
// start; with allow_insecure it starts and warns; HTTPS with a self-signed certificate made
// here (openssl) and bearer tokens guard the HTTP API.
import { afterAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "../adapters/free-ports.ts";
import { killAllSpawned, ping, sleep, spawnMec } from "./harness.ts";

const dir = mkdtempSync(join(tmpdir(), "mec-exposure-"));
afterAll(async () => {
  await killAllSpawned();
  rmSync(dir, { recursive: true, force: true });
});

async function config(name: string, extra: string[]): Promise<{ file: string; httpPort: number }> {
  const base = await freePortBlock(3);
  const file = join(dir, `${name}.toml`);
  writeFileSync(file, [`name = "${name}"`, `port = ${base}`, `httpport = ${base + 2}`, `root = "${join(dir, name)}"`, "sync = false", 'log_level = "info"', ...extra, ""].join("\n"));
  return { file, httpPort: base + 2 };
}

async function until(cond: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(100);
  }
  return false;
}

describe("a node bound beyond loopback", () => {
  it("refuses to start without curve_key_file (exit 2, naming bind)", async () => {
    const { file } = await config("public", ['bind = "0.0.0.0"']);
    const p = spawnMec(["--config", file]);
    const exit = await p.waitExit(20_000);
    expect(exit.code).toBe(2);
    expect(p.stderr).toMatch(/key "bind": "0\.0\.0\.0" is beyond loopback but curve_key_file is not set/);
    expect(p.stderr).toContain("allow_insecure = true");
  });

  it("starts with allow_insecure = true and warns about the open cluster ports and HTTP without TLS", async () => {
    const { file, httpPort } = await config("insecure", ['bind = "0.0.0.0"', "allow_insecure = true"]);
    const p = spawnMec(["--config", file]);
    expect(await until(() => ping(`http://127.0.0.1:${httpPort}`), 20_000)).toBe(true);
    expect(p.stdout).toContain("security: allow_insecure: cluster ports on 0.0.0.0 accept anyone");
    expect(p.stdout).toContain("HTTP on 0.0.0.0 without TLS");
    p.proc.kill("SIGTERM");
    await p.waitExit(20_000);
  });
});

describe("HTTPS and bearer tokens", () => {
  function httpsCall(port: number, ca: string, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, ca, headers, timeout: 5000 }, (res) => {
        let data = "";
        res.on("data", (c: Buffer) => (data += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("serves HTTPS with a self-signed certificate; only /ping is open without a valid token", async () => {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
    const token = "s3cret-token-0123456789";
    writeFileSync(join(dir, "tokens"), `# clients\n${token}\nanother-token-abcdefghij\n`);
    const { file, httpPort } = await config("tls", [`http_tls_cert_file = "${cert}"`, `http_tls_key_file = "${key}"`, `http_auth_tokens_file = "${join(dir, "tokens")}"`, "n = 1", "r = 1", "w = 1"]);
    const ca = execFileSync("cat", [cert]).toString();
    const p = spawnMec(["--config", file]);
    const ready = await until(async () => (await httpsCall(httpPort, ca, "GET", "/ping").catch(() => ({ status: 0 }))).status === 200, 20_000);
    expect(ready, p.stderr).toBe(true);
    expect(await ping(`http://127.0.0.1:${httpPort}`)).toBe(false); // plain HTTP is not served
    const anon = await httpsCall(httpPort, ca, "PUT", "/mec/k", { "content-type": "text/plain" }, "v");
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.body)).toMatchObject({ error: "unauthorized" });
    expect((await httpsCall(httpPort, ca, "GET", "/stats", { authorization: "Bearer wrong-token-0123456789" })).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    expect((await httpsCall(httpPort, ca, "PUT", "/mec/k", { ...auth, "content-type": "text/plain" }, "v")).status).toBe(200);
    const got = await httpsCall(httpPort, ca, "GET", "/mec/k", auth);
    expect(got).toEqual({ status: 200, body: "v" });
    p.proc.kill("SIGTERM");
    await p.waitExit(20_000);
  }, 60_000);
});
