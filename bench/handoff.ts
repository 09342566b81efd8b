// `npm run bench:handoff`: how long ownership handoff of 100 MB in 64 partitions takes on real
// nodes (ZeroMQ, LevelDB, sync = false), beside its baseline measured in the same run: writing
// the same objects into a fresh LevelDB in batches of the transfer's size (a transfer's floor:
// every object must be written once more at the receiver).
//
//   1. node A alone (n = 1) holds MB megabytes as 64 KiB objects in 64 partitions;
//   2. node B joins through A: half the partitions (32) move to B;
//   3. A leaves: the other 32 move to B. Together: all 64 partitions, all the data, handed off.
//
// Both nodes run in this process (they share its event loop, as two processes would share
// the two cores). Options: --mb MB (100)  --object-kib K (64)
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../src/config/index.ts";
import { startNode, type RunningNode } from "../src/node-process/start-node.ts";
import { LevelStorage } from "../src/adapters/level-storage.ts";
import { TRANSFER_BATCH } from "../src/core/replica/transfer.ts";
import { freePortBlock } from "../test/adapters/free-ports.ts";
import type { StorageOp, StorageResult } from "../src/core/types.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

const MB = arg("--mb", 100);
const OBJECT_BYTES = arg("--object-kib", 64) * 1024;
const COUNT = Math.ceil((MB * 1024 * 1024) / OBJECT_BYTES);
const dir = mkdtempSync(join(tmpdir(), "mec-bench-handoff-"));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const submit = (s: LevelStorage, op: StorageOp): Promise<StorageResult> => new Promise((r) => s.submit(op, r));

async function node(name: string, port: number, httpPort: number, peers: readonly number[], joining: boolean): Promise<RunningNode> {
  const file = join(dir, `${name}.toml`);
  const lines = [
    `name = "${name}"`, `port = ${port}`, `httpport = ${httpPort}`, `root = "${join(dir, name)}"`, "sync = false", "n = 1", "r = 1", "w = 1",
    "partitions = 64", "log_level = \"warn\"", "heartbeat_interval_ms = 100", "suspect_after_ms = 2000", "handoff_interval_ms = 100",
    "request_timeout_ms = 10000", "anti_entropy_interval_ms = 0", `join = ${joining}`,
    ...peers.map((p) => `[[node]]\nhost = "127.0.0.1"\nport = ${p}`),
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return startNode(parseConfig(`${lines.join("\n")}\n`, file));
}

async function settle(nodes: readonly RunningNode[], epoch: number): Promise<void> {
  for (;;) {
    const views = nodes.map((n) => n.host.node.inspect!());
    if (views.every((v) => (v.cluster?.epoch ?? 0) >= epoch && (v.transfers?.pending ?? 1) === 0)) return;
    await sleep(20);
  }
}

async function baseline(value: Uint8Array): Promise<number> {
  const s = await LevelStorage.open(join(dir, "baseline"), { sync: false });
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i += TRANSFER_BATCH) {
    const puts: [string, Uint8Array][] = [];
    for (let j = i; j < Math.min(COUNT, i + TRANSFER_BATCH); j++) puts.push([`o:${j}`, value]);
    await submit(s, { type: "batch", puts, dels: [] });
  }
  const ms = performance.now() - t0;
  await s.close();
  return ms;
}

async function main(): Promise<void> {
  const value = new Uint8Array(OBJECT_BYTES).map((_, i) => (i * 31) & 0xff);
  const ports = await freePortBlock(30);
  const a = await node("a", ports, ports + 20, [], false);
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i += 32) {
    await Promise.all(Array.from({ length: Math.min(32, COUNT - i) }, (_, j) => a.host.requestAsync({ type: "put", key: `key-${i + j}`, value, contentType: "application/octet-stream", context: null })));
  }
  const loadMs = performance.now() - t0;
  const b = await node("b", ports + 10, ports + 21, [ports], true);
  const t1 = performance.now();
  await settle([a, b], 1);
  const joinMs = performance.now() - t1;
  const movedOnJoin = a.host.node.inspect!().transfers!.objectsSent;
  const t2 = performance.now();
  a.host.admin({ type: "leave" });
  await settle([a, b], 2);
  const leaveMs = performance.now() - t2;
  const movedOnLeave = a.host.node.inspect!().transfers!.objectsSent - movedOnJoin;
  await Promise.all([a.stop(), b.stop()]);
  const baseMs = await baseline(value);
  rmSync(dir, { recursive: true, force: true });
  const mb = (objects: number): string => ((objects * OBJECT_BYTES) / 1024 / 1024).toFixed(1);
  const rate = (objects: number, ms: number): string => ((objects * OBJECT_BYTES) / 1024 / 1024 / (ms / 1000)).toFixed(1);
  console.log(`handoff bench: ${COUNT} objects of ${OBJECT_BYTES / 1024} KiB (${mb(COUNT)} MB), 64 partitions, sync = false, batches of up to ${TRANSFER_BATCH} objects or 1 MiB`);
  console.log(`  load into A (client writes, n = 1):      ${(loadMs / 1000).toFixed(2)} s`);
  console.log(`  join of B (32 partitions, ${movedOnJoin} objects, ${mb(movedOnJoin)} MB): ${(joinMs / 1000).toFixed(2)} s  (${rate(movedOnJoin, joinMs)} MB/s)`);
  console.log(`  leave of A (32 partitions, ${movedOnLeave} objects, ${mb(movedOnLeave)} MB): ${(leaveMs / 1000).toFixed(2)} s  (${rate(movedOnLeave, leaveMs)} MB/s)`);
  console.log(`  all 64 partitions (${movedOnJoin + movedOnLeave} objects, ${mb(movedOnJoin + movedOnLeave)} MB): ${((joinMs + leaveMs) / 1000).toFixed(2)} s  (${rate(movedOnJoin + movedOnLeave, joinMs + leaveMs)} MB/s)`);
  console.log(`  baseline: LevelDB batch writes of all ${COUNT} objects: ${(baseMs / 1000).toFixed(2)} s  (${rate(COUNT, baseMs)} MB/s)`);
}

await main();
process.exit(0);
