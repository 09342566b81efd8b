// Storage faults on real processes (bin/mec.js, real LevelDB, real ZeroMQ):
// - flipped bytes in a value inside a stopped node's .ldb table are never served through any
//   node, never copied onto a healthy replica, and the damaged replica is repaired from a
//   healthy one;
// - a corrupted compressed block makes the node exit 1 with the file and the LevelDB error;
// - a node whose root (a 32 MiB tmpfs in a private mount namespace) fills up answers 507 for a
//   write only it could take, reports not-ready on /ping, lets writes through it go to the
//   other primaries, refuses replicas at once, and recovers without a restart once space is
//   freed (the test reaches the tmpfs through /proc/<pid>/root).
import { afterAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statfsSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ClassicLevel } from "classic-level";
import { partitionOf } from "../../src/core/ring/index.ts";
import { objectKey } from "../../src/core/replica/keys.ts";
import { openRecord } from "../../src/core/replica/record.ts";
import { decodeSiblingSet } from "../../src/core/versioning/index.ts";
import { TEST_TOML, sleep, startTestCluster, type TestCluster, type TestNode } from "./harness.ts";

const PARTITIONS = 8; // TEST_TOML's partitions

let cluster: TestCluster | null = null;
afterAll(async () => {
  await cluster?.stopAll();
  cluster = null;
});

async function put(url: string, key: string, body: Uint8Array | string, query = ""): Promise<Response> {
  return fetch(`${url}/mec/${key}${query}`, { method: "PUT", body: typeof body === "string" ? body : Buffer.from(body), headers: { "content-type": "application/octet-stream" } });
}

async function getBody(url: string, key: string, query = ""): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${url}/mec/${key}${query}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** Polls until fn returns true (bounded; a loaded machine gets time, never a fixed sleep). */
async function until(what: string, fn: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Stops a node cleanly (SIGTERM: LevelDB closes, LOCK released). */
async function stop(node: TestNode): Promise<void> {
  const exit = await node.kill("SIGTERM");
  expect(exit.code).toBe(0);
}

/** Opens a stopped node's LevelDB in this process, compacts everything into tables, closes it. */
async function compact(root: string): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(root, { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open({ createIfMissing: false });
  await db.compactRange("\u0000", "\uffff");
  await db.close();
}

/** The stored record of a key in a stopped node's LevelDB: "absent", "corrupt" or the value. */
async function storedValue(root: string, key: string): Promise<string> {
  const db = new ClassicLevel<string, Uint8Array>(root, { keyEncoding: "utf8", valueEncoding: "view" });
  await db.open({ createIfMissing: false });
  try {
    const bytes = await db.get(objectKey(partitionOf(key, PARTITIONS), key));
    if (bytes === undefined) return "absent";
    const rec = openRecord(bytes);
    if (!rec.ok) return "corrupt";
    const live = decodeSiblingSet(rec.payload).siblings.filter((s) => s.value !== null);
    return live.map((s) => Buffer.from(s.value!).toString("latin1")).join("|");
  } finally {
    await db.close();
  }
}

/** Flips one byte in the middle of `marker` in whichever .ldb file of root holds it. */
function flipInTables(root: string, marker: Buffer): string {
  for (const f of readdirSync(root).filter((n) => n.endsWith(".ldb"))) {
    const path = join(root, f);
    const bytes = readFileSync(path);
    const at = bytes.indexOf(marker);
    if (at < 0) continue;
    const i = at + (marker.length >> 1);
    bytes[i] = bytes[i]! === 0x61 ? 0x62 : 0x61; // a different printable byte
    writeFileSync(path, bytes);
    return f;
  }
  throw new Error(`no .ldb file under ${root} holds the value (files: ${readdirSync(root).join(", ")})`);
}

describe("corrupt tables on a real cluster", () => {
  it("a value with flipped bytes in a .ldb table is never served or spread, and is repaired from a healthy replica", async () => {
    cluster = await startTestCluster(3);
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    // Incompressible (hex of random bytes), so LevelDB stores its block uncompressed and a
    // flipped byte is returned as data unless the record checksum catches it.
    const value = randomBytes(200).toString("hex");
    const res = await put(n1.url, "victim", value, "?w=3");
    expect(res.status).toBe(200);
    await stop(n3);
    await compact(n3.spec.root);
    const file = flipInTables(n3.spec.root, Buffer.from(value, "latin1"));
    expect(await storedValue(n3.spec.root, "victim")).toBe("corrupt");
    n3.start();
    await n3.waitReady();

    // Every node, every r: the healthy value or nothing else (r=1 through n3 must not take n3's copy).
    for (const node of [n3, n1, n2]) {
      for (const r of [1, 2, 3]) {
        const got = await getBody(node.url, "victim", `?r=${r}`);
        expect(got.status, `GET via ${node.name} r=${r}`).toBe(200);
        expect(got.body.toString("latin1"), `GET via ${node.name} r=${r}`).toBe(value);
      }
    }
    const stats = (await (await fetch(`${n3.url}/stats`)).json()) as { storage: { corruptObjects: number } };
    expect(stats.storage.corruptObjects).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${n3.url}/metrics`)).text();
    expect(metrics).toMatch(/mec_storage_corrupt_objects_total\{[^}]*\} [1-9]/);

    // n3's copy is repaired (read repair after the GETs above, or anti-entropy) without a new write.
    await until("n3's copy to be repaired", async () => {
      await stop(n3);
      const stored = await storedValue(n3.spec.root, "victim");
      if (stored === value) return true;
      n3.start();
      await n3.waitReady();
      await getBody(n1.url, "victim", "?r=3");
      return false;
    }, 60_000);
    await stop(n1);
    await stop(n2);
    expect(await storedValue(n1.spec.root, "victim")).toBe(value);
    expect(await storedValue(n2.spec.root, "victim")).toBe(value);
    expect(file).toMatch(/^\d{6}\.ldb$/);
    await cluster.stopAll();
    cluster = null;
  }, 180_000);

  it("a corrupted compressed block makes the node exit 1 naming the file and the LevelDB error", async () => {
    cluster = await startTestCluster(3);
    const [n1, , n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    const compressible = "abcdefghij".repeat(300);
    for (let i = 0; i < 40; i++) expect((await put(n1.url, `bulk${i}`, `${i}:${compressible}`, "?w=3")).status).toBe(200);
    await stop(n3);
    await compact(n3.spec.root);
    const tables = readdirSync(n3.spec.root).filter((f) => f.endsWith(".ldb"));
    expect(tables.length).toBeGreaterThan(0);
    const path = join(n3.spec.root, tables[0]!);
    const bytes = readFileSync(path);
    for (let i = 100; i < 110; i++) bytes[i] = bytes[i]! ^ 0xff; // inside the first (compressed) data block
    writeFileSync(path, bytes);
    const p = n3.start();
    const exit = await p.waitExit(60_000);
    expect(exit.code).toBe(1);
    expect(p.stderr).toContain(tables[0]!);
    expect(p.stderr).toMatch(/Corruption: corrupted compressed block contents/);
    await cluster.stopAll();
    cluster = null;
  }, 180_000);
});

const asRoot = process.getuid?.() === 0 && existsSync("/usr/bin/unshare");

describe.skipIf(!asRoot)("disk full on a real cluster (tmpfs root in a private mount namespace)", () => {
  it("507 when no replica has room, not ready while full, writes go around it, recovery without a restart", async () => {
    cluster = await startTestCluster(3, TEST_TOML, {
      prefixFor: (spec, i) =>
        i === 2 ? ["unshare", "--mount", "sh", "-c", `mkdir -p '${spec.root}' && mount -t tmpfs -o size=32m tmpfs '${spec.root}' && exec "$@"`, "sh"] : [],
    });
    const [n1, n2, n3] = cluster.nodes as [TestNode, TestNode, TestNode];
    const pid = n3.process!.proc.pid!;
    const root = `/proc/${pid}/root${n3.spec.root}`; // n3's tmpfs, seen from here
    const filler = join(root, "filler");
    const free = (): number => {
      const s = statfsSync(root);
      return s.bavail * s.bsize;
    };
    expect(free()).toBeLessThan(40 * 1024 * 1024); // really the small tmpfs
    // Leave 6 MiB: the memtable's flush into a table then fails for space, after which LevelDB
    // fails every write until reopened (the adapter must do that by itself).
    writeFileSync(filler, Buffer.alloc(Math.max(0, free() - 6 * 1024 * 1024)));

    // Writes through n3 keep succeeding (the other primaries mint them) while n3 fills up and fails.
    const body = randomBytes(60_000);
    let i = 0;
    await until("n3 to report storage failing", async () => {
      const res = await put(n3.url, `fill${i++}`, body, "?w=2");
      expect(res.status, await res.clone().text()).toBe(200);
      return (await fetch(`${n3.url}/ping`)).status === 503;
    }, 120_000);
    expect((await fetch(`${n3.url}/ping`)).status).toBe(503);
    const health = await fetch(`${n3.url}/health`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string; ready: boolean }).status).toBe("storage-failing");
    const stats = (await (await fetch(`${n3.url}/stats`)).json()) as { storage: { failing: string } };
    expect(stats.storage.failing).toBe("full");
    expect(await (await fetch(`${n3.url}/metrics`)).text()).toMatch(/mec_storage_failing\{[^}]*\} 1/);

    // Through n3 and through a healthy node: the write lands on the other two primaries.
    expect((await put(n3.url, "around", "via-n3", "?w=2")).status).toBe(200);
    expect((await put(n1.url, "around2", "via-n1", "?w=2")).status).toBe(200);
    // w=3 cannot be met: n3 refuses at once, so the answer says so (not a bare timeout).
    const w3 = await put(n1.url, "needs-three", "x", "?w=3");
    expect(w3.status).toBe(503);
    expect(await w3.text()).toContain("refused");
    // Reads still work on n3.
    expect((await getBody(n3.url, "around", "?r=2")).body.toString()).toBe("via-n3");

    // Alone (its peers stopped), n3 must answer 507 for a write only it could take.
    await stop(n1);
    await stop(n2);
    await until("a 507 from n3", async () => {
      const res = await put(n3.url, "alone", "x", "?w=1");
      if (res.status === 507) {
        expect(((await res.json()) as { error: string }).error).toBe("storage-full");
        return true;
      }
      expect([503, 507]).toContain(res.status); // a forward to a not-yet-suspected peer times out first
      return false;
    }, 60_000);

    // Space freed: n3 recovers by itself (its probe write reopens LevelDB), no restart.
    unlinkSync(filler);
    await until("n3 to be ready again", async () => (await fetch(`${n3.url}/health`)).status === 200, 30_000);
    expect((await fetch(`${n3.url}/ping`)).status).toBe(200);
    expect(n3.process!.exit).toBeNull();
    const after = await put(n3.url, "after", "recovered", "?w=1");
    expect(after.status).toBe(200);
    expect((await getBody(n3.url, "after", "?r=1")).body.toString()).toBe("recovered");
    const recovered = (await (await fetch(`${n3.url}/stats`)).json()) as { storage: { failing: string | null; failingEpisodes: number } };
    expect(recovered.storage.failing).toBeNull();
    expect(recovered.storage.failingEpisodes).toBeGreaterThanOrEqual(1);
    await cluster.stopAll();
    cluster = null;
  }, 300_000);
});
