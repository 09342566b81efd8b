// The multi-process harness itself: readiness means the node answering is the one started
// (a foreign server on its port never passes), and clean-up leaves no process behind, not
// even the nodes `mec cluster` starts in process groups of their own.
import { afterAll, describe, expect, it } from "vitest";
import { createServer } from "node:http";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePortBlock } from "../adapters/free-ports.ts";
import { clusterSpecs } from "../../src/dev-cluster/cluster.ts";
import { TestNode, killAllSpawned, sleep, spawnMec } from "./harness.ts";

const tmp = mkdtempSync(join(tmpdir(), "mec-harness-test-"));
afterAll(async () => {
  await killAllSpawned();
  rmSync(tmp, { recursive: true, force: true });
});

/** Pids of running processes whose command line contains `needle`. */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(needle)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

describe("test/cluster harness", () => {
  it("waitReady refuses a foreign server answering 200 on the node's HTTP port", async () => {
    const base = await freePortBlock(12);
    const specs = clusterSpecs({ nodes: 1, dir: join(tmp, "foreign"), basePort: base, httpBasePort: base + 11 });
    const foreign = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok","ready":true}'));
    await new Promise<void>((r) => foreign.listen(base + 11, "127.0.0.1", r));
    try {
      const node = new TestNode(specs[0]!);
      node.process = spawnMec(["--version"]); // any live process: readiness must come from /health alone
      await expect(node.waitReady(5_000)).rejects.toThrow(/answered by another program.*not node-1 \(127\.0\.0\.1:\d+\)/);
    } finally {
      foreign.close();
    }
  });

  it("killAllSpawned kills the nodes `mec cluster` started, before their supervisor can stop them", async () => {
    const base = await freePortBlock(12);
    const dir = join(tmp, "tree");
    const p = spawnMec(["cluster", "--nodes", "1", "--dir", dir, "--base-port", String(base), "--http-base-port", String(base + 11), "--log-level", "info"]);
    const until = Date.now() + 40_000;
    while (!p.stdout.includes("Press Ctrl-C")) {
      if (p.exit !== null || Date.now() > until) throw new Error(`cluster did not start: ${p.stdout}\n${p.stderr}`);
      await sleep(100);
    }
    const config = join(dir, "node-1.toml");
    expect(pidsWith(config)).toHaveLength(1); // the node, a grandchild of this test
    await killAllSpawned();
    const gone = Date.now() + 10_000;
    while (pidsWith(config).length > 0 && Date.now() < gone) await sleep(50);
    expect(pidsWith(config)).toEqual([]);
    // SIGKILLed, not stopped by itself after noticing that its supervisor was gone.
    expect(readFileSync(join(dir, "node-1.log"), "utf8")).not.toContain('"supervisor gone"');
  });
});

