import { afterAll, describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, rmSync, existsSync, readdirSync, readFileSync, statSync, statfsSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { LevelStorage, StorageLockedError } from "../../src/adapters/level-storage.ts";
import type { StorageResult } from "../../src/core/types.ts";
import { runStorageContract } from "./storage-contract.ts";

const tmp = mkdtempSync(join(tmpdir(), "mec-level-"));
let dirs = 0;
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Disk full needs a small filesystem: as root, a 16 MiB tmpfs mounted for the case (and
// unmounted after it); otherwise the disk-full case does not run for LevelDB.
const canMount = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;

/** No device-mapper in this kernel (`dmsetup create` fails: no /dev/mapper/control) and no FUSE library: see README, Storage. */
const NO_IO_ERRORS =
  "LevelDB on a real disk cannot be made to fail writes with a generic I/O error here (no device-mapper error/flakey target in this kernel, no FUSE library installed); disk full (ENOSPC) is the real write failure covered";

/** The files of a LevelDB root holding `needle` (its log and tables), with the offset of it. */
function filesHolding(root: string, needle: Uint8Array): { file: string; at: number }[] {
  const out: { file: string; at: number }[] = [];
  for (const name of readdirSync(root)) {
    if (!/\.(log|ldb)$/.test(name)) continue;
    const bytes = readFileSync(join(root, name));
    const at = bytes.indexOf(Buffer.from(needle));
    if (at >= 0) out.push({ file: join(root, name), at });
  }
  return out;
}

/** The root's current write-ahead log (the highest-numbered .log). */
function currentLog(root: string): string {
  const logs = readdirSync(root).filter((n) => /^\d+\.log$/.test(n)).sort();
  if (logs.length === 0) throw new Error(`no log in ${root}`);
  return join(root, logs[logs.length - 1]!);
}

for (const sync of [false, true]) {
  runStorageContract(`LevelStorage (sync: ${sync})`, async () => {
    const dir = join(tmp, `db${dirs++}`);
    let mounted = false;
    if (canMount) {
      mkdirSync(dir, { recursive: true });
      mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir]).status === 0;
    }
    const root = join(dir, "db");
    let storage = await LevelStorage.open(root, { sync });
    const reopen = async (between?: () => void): Promise<void> => {
      await storage.close();
      between?.();
      storage = await LevelStorage.open(root, { sync });
    };
    const filler = join(dir, "filler");
    /** Log size when the last write completed whose loss a power cut may not cause (a sync-marked one). */
    let logAtSync: number | null = null;
    return {
      get storage() {
        return storage;
      },
      close: async () => {
        await storage.close();
        if (mounted) spawnSync("umount", ["-l", dir]);
      },
      // A table on disk: reopen once (LevelDB turns its log into a table), then flip a byte in
      // the middle of the value in the file that holds it, with the database closed.
      corrupt: async (_key, value) => {
        await reopen();
        const probe = value.subarray(value.length >> 1, (value.length >> 1) + 32);
        await reopen(() => {
          const hits = filesHolding(root, probe);
          if (hits.length === 0) throw new Error("value not found in any LevelDB file");
          for (const { file, at } of hits) {
            const bytes = readFileSync(file);
            bytes[at + 16] = bytes[at + 16]! ^ 0x10;
            writeFileSync(file, bytes);
          }
        });
      },
      // Without sync, a power loss cuts the tail of the log (the OS had not written it back):
      // with the database closed, truncate the log halfway between its size at the last
      // sync-marked write and its end, then reopen (LevelDB ignores the torn last record).
      ...(sync
        ? { unsupported: { failWrites: NO_IO_ERRORS, loseUnsynced: "sync: true fsyncs every write: a power loss loses nothing completed", ...(mounted ? {} : { fillDisk: "disk full needs root to mount a small tmpfs" }) } }
        : {
            unsupported: { failWrites: NO_IO_ERRORS, ...(mounted ? {} : { fillDisk: "disk full needs root to mount a small tmpfs" }) },
            loseUnsynced: async () => {
              const log = currentLog(root);
              const end = statSync(log).size;
              const from = logAtSync ?? 0;
              await reopen(() => truncateSync(log, from + Math.floor((end - from) / 2)));
            },
          }),
      ...(mounted
        ? {
            faults: {
              fillDisk: async () => {
                const s = statfsSync(dir);
                // Leave 6 MiB: the log fills its 4 MiB memtable, then flushing it into a table
                // fails for space, which (unlike a failed log append) LevelDB keeps failing
                // every write for until it is reopened: the case the adapter must recover from.
                writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - 6 * 1024 * 1024)));
              },
              freeDisk: async () => rmSync(filler, { force: true }),
            },
          }
        : {}),
      /** Called by the contract's power-loss case right after its sync-marked write. */
      noteSynced: () => void (logAtSync = statSync(currentLog(root)).size),
    };
  });
}

function submit(s: LevelStorage, op: Parameters<LevelStorage["submit"]>[0]): Promise<StorageResult> {
  return new Promise((resolve) => s.submit(op, resolve));
}

describe("LevelStorage", () => {
  it("creates the root directory if missing, and keeps data across reopen", async () => {
    const root = join(tmp, "nested", "deeper", "root");
    expect(existsSync(root)).toBe(false);
    let s = await LevelStorage.open(root, { sync: false });
    expect(existsSync(root)).toBe(true);
    await submit(s, { type: "put", key: "k", value: new Uint8Array([1, 2, 3]) });
    await s.close();
    s = await LevelStorage.open(root, { sync: false });
    const r = await submit(s, { type: "get", key: "k" });
    expect(r.ok && Array.from(r.value!)).toEqual([1, 2, 3]);
    await s.close();
  });

  it("fails fast when the root is held by another handle", async () => {
    const root = join(tmp, "locked");
    const s = await LevelStorage.open(root, { sync: false });
    await expect(LevelStorage.open(root, { sync: false })).rejects.toThrow(StorageLockedError);
    await expect(LevelStorage.open(root, { sync: false })).rejects.toThrow(`root ${root} is in use by another mec process (LOCK held)`);
    await s.close();
  });

  it("fails fast when the root is held by another process", async () => {
    const root = join(tmp, "locked-by-child");
    const s = await LevelStorage.open(root, { sync: false });
    const script = `
      import { LevelStorage } from "./src/adapters/level-storage.ts";
      try { await LevelStorage.open(${JSON.stringify(root)}, { sync: false }); process.exit(0); }
      catch (e) { console.error(e.message); process.exit(3); }
    `;
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 15_000, encoding: "utf8" });
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`root ${root} is in use by another mec process (LOCK held)`);
    await s.close();
  });

  it("reports a root that cannot be created", async () => {
    // A root below a regular file cannot be created (ENOTDIR).
    writeFileSync(join(tmp, "plain-file"), "x");
    await expect(LevelStorage.open(join(tmp, "plain-file", "root"), { sync: false })).rejects.toThrow(/cannot create root .*plain-file\/root/);
  });

  it("answers ops after close with an error, not a crash", async () => {
    const s = await LevelStorage.open(join(tmp, "closed"), { sync: false });
    await s.close();
    const r = await submit(s, { type: "get", key: "k" });
    expect(r).toEqual({ ok: false, message: "storage is closed" });
  });

  it("interleaved writes and reads of the same keys across ticks: each read sees exactly the writes before it", async () => {
    const s = await LevelStorage.open(join(tmp, "interleaved"), { sync: false });
    const enc = (x: number): Uint8Array => new TextEncoder().encode(String(x));
    const model = new Map<string, number | undefined>();
    const expected: (string | undefined)[] = [];
    const got: Promise<string | undefined>[] = [];
    const writes: Promise<StorageResult>[] = [];
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 30; i++) {
        const key = `k${rnd(5)}`;
        const what = rnd(4);
        if (what === 0) {
          writes.push(submit(s, { type: "put", key, value: enc(round * 100 + i) }));
          model.set(key, round * 100 + i);
        } else if (what === 1) {
          writes.push(submit(s, { type: "del", key }));
          model.set(key, undefined);
        } else {
          const m = model.get(key);
          expected.push(m === undefined ? undefined : String(m));
          got.push(submit(s, { type: "get", key }).then((r) => (r.ok && r.value !== undefined ? new TextDecoder().decode(r.value) : undefined)));
        }
      }
      if (round % 3 === 0) await new Promise((r) => setImmediate(r)); // some rounds share a group, some not
    }
    expect(await Promise.all(got)).toEqual(expected);
    expect((await Promise.all(writes)).every((r) => r.ok)).toBe(true);
    await s.close();
  });
});

// Group commit, seen at the seam between the adapter and LevelDB: the database's `batch()` is
// wrapped so the test holds each WriteBatch's write until it lets it go (or fails it), and
// sees which ops went into which batch with which sync flag. The batches still reach the real
// LevelDB when released.
describe("LevelStorage group commit (sync: true)", () => {
  interface HeldBatch {
    ops: string[];
    sync: boolean | undefined;
    release: () => void;
    fail: (err: Error) => void;
  }

  /** Opens a store whose WriteBatch writes wait in `held` until released or failed. */
  async function openHeld(): Promise<{ s: LevelStorage; held: HeldBatch[] }> {
    const s = await LevelStorage.open(join(tmp, `db${dirs++}`), { sync: true });
    const db = (s as unknown as { db: { batch: () => unknown } }).db;
    const realBatch = db.batch.bind(db) as () => { put(k: Uint8Array, v: Uint8Array): void; del(k: Uint8Array): void; write(o: { sync?: boolean }): Promise<void> };
    const held: HeldBatch[] = [];
    db.batch = () => {
      const inner = realBatch();
      const ops: string[] = [];
      const dec = new TextDecoder();
      return {
        put: (k: Uint8Array, v: Uint8Array) => (ops.push(`put ${dec.decode(k)}`), inner.put(k, v)),
        del: (k: Uint8Array) => (ops.push(`del ${dec.decode(k)}`), inner.del(k)),
        write: (o: { sync?: boolean }) =>
          new Promise<void>((resolve, reject) => {
            held.push({ ops, sync: o.sync, release: () => void inner.write(o).then(resolve, reject), fail: reject });
          }),
      };
    };
    return { s, held };
  }

  /** A bounded poll (the reopen after a failure does real I/O). */
  const until = async (cond: () => boolean): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    expect(cond()).toBe(true);
  };
  const bytes = (t: string): Uint8Array => new TextEncoder().encode(t);

  it("writes submitted together share one synced WriteBatch, and none is acknowledged before it is durable", async () => {
    const { s, held } = await openHeld();
    const acked: string[] = [];
    const results: Promise<StorageResult>[] = [];
    for (let i = 0; i < 20; i++) results.push(submit(s, { type: "put", key: `k${i}`, value: bytes(`v${i}`) }).then((r) => (acked.push(`k${i}`), r)));
    results.push(submit(s, { type: "del", key: "k3" }).then((r) => (acked.push("del k3"), r)));
    await until(() => held.length === 1);
    expect(held[0]!.sync).toBe(true);
    expect(held[0]!.ops).toEqual([...Array.from({ length: 20 }, (_, i) => `put k${i}`), "del k3"]);
    // Writes submitted while that batch is being written wait for the next one.
    results.push(submit(s, { type: "put", key: "late", value: bytes("x") }).then((r) => (acked.push("late"), r)));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(acked).toEqual([]); // not durable yet: nobody is told
    expect(held.length).toBe(1); // one batch at a time
    // A read of a key whose write is not durable yet waits for it too.
    const read = submit(s, { type: "get", key: "k1" });
    let readDone = false;
    void read.then(() => (readDone = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(readDone).toBe(false);
    held[0]!.release();
    await until(() => acked.length === 21);
    expect(acked).toEqual([...Array.from({ length: 20 }, (_, i) => `k${i}`), "del k3"]); // in submission order
    const got = await read;
    expect(got.ok && got.value !== undefined ? new TextDecoder().decode(got.value) : null).toBe("v1");
    await until(() => held.length === 2);
    expect(held[1]!.ops).toEqual(["put late"]);
    expect(acked).not.toContain("late");
    held[1]!.release();
    expect((await Promise.all(results)).every((r) => r.ok)).toBe(true);
    await s.close();
  });

  it("a failing WriteBatch fails every write in it (and reads waiting on them), and nothing of it is applied", async () => {
    const { s, held } = await openHeld();
    const results = [0, 1, 2].map((i) => submit(s, { type: "put", key: `f${i}`, value: bytes(`v${i}`) }));
    const read = submit(s, { type: "get", key: "f2" });
    await until(() => held.length === 1);
    held[0]!.fail(new Error("IO error: simulated failing disk"));
    const outcomes = await Promise.all(results);
    expect(outcomes.map((r) => r.ok)).toEqual([false, false, false]);
    for (const r of outcomes) expect(r.ok ? "" : r.message).toMatch(/simulated failing disk/);
    expect((await read).ok).toBe(false);
    // The next write reopens LevelDB first (it refuses writes after a failure), then succeeds;
    // the failed batch never reached the database.
    const next = submit(s, { type: "put", key: "after", value: bytes("ok") });
    await until(() => held.length === 2);
    held[1]!.release();
    expect((await next).ok).toBe(true);
    for (const i of [0, 1, 2]) expect(await submit(s, { type: "get", key: `f${i}` })).toEqual({ ok: true });
    await s.close();
  });
});
