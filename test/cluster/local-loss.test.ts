// Partial local data loss on a real node (sync = false): the tail of its LevelDB log is cut
// (what a power loss does to unsynced writes) or a byte in it is flipped (LevelDB then drops
// the damaged record and what follows it in the block). The node restarts on what is left and
// must never issue a dot it already issued: a blind write through it afterwards must not
// erase a write that was acknowledged by all three replicas before the loss.
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MecClient, text } from "../../src/client/index.ts";
import { startTestCluster, type TestCluster } from "./harness.ts";

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

/** The LevelDB write-ahead log of a root (the newest NNNNNN.log). */
function newestLog(root: string): string {
  const logs = readdirSync(root).filter((f) => /^\d+\.log$/.test(f)).sort();
  const last = logs[logs.length - 1];
  if (last === undefined) throw new Error(`no .log file in ${root}: ${readdirSync(root).join(", ")}`);
  return join(root, last);
}

/** Offset of the last occurrence of text in the file (the record of the latest write of a key). */
function lastOffset(file: string, needle: string): number {
  const at = readFileSync(file).lastIndexOf(Buffer.from(needle, "utf8"));
  if (at < 0) throw new Error(`${needle} not found in ${file}`);
  return at;
}

const damage = {
  /** Power loss: the log ends inside the record of the latest write. */
  truncate(file: string, at: number): void {
    truncateSync(file, at);
  },
  /** A flipped byte inside that record: its checksum fails and LevelDB drops it. */
  flip(file: string, at: number): void {
    const bytes = readFileSync(file);
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);
  },
};

const values = (siblings: readonly { value: Uint8Array }[]): string[] => siblings.map((s) => text(s.value)).sort();

describe("a node that lost the tail of its LevelDB log", () => {
  for (const how of ["truncate", "flip"] as const) {
    it(`${how}: a blind write through it after the restart keeps the earlier w=3 write`, async () => {
      cluster = await startTestCluster(3);
      const victim = cluster.node(0);
      const db = cluster.nodes.map((n) => new MecClient(n.url, { timeoutMs: 8000 }));
      const key = `loss-${how}-${Date.now().toString(36)}`;
      // n = 3 on 3 nodes: node-1 is a primary of every key, so it mints the dot of this write.
      await db[0]!.put(key, "acknowledged", { w: 3 });
      expect(values((await db[1]!.get(key, { r: 3 })).siblings)).toEqual(["acknowledged"]);

      await victim.kill("SIGKILL");
      const log = newestLog(victim.spec.root);
      const at = lastOffset(log, key);
      const sizeBefore = statSync(log).size;
      damage[how](log, at);
      expect(statSync(log).size).toBeLessThanOrEqual(sizeBefore);

      victim.start();
      await victim.waitReady();
      // The write is gone from node-1's own storage: with the others stopped it reads nothing.
      // (Checked through r=1 on node-1 only while it is the one replica answering fastest would
      // be racy; the point of the test is the blind write below.)
      await db[0]!.put(key, "blind, after the loss", { w: 2 });

      // Every replica must still hold the acknowledged value, as a sibling of the blind write.
      for (const client of db) {
        const got = await client.get(key, { r: 3 });
        expect(values(got.siblings)).toEqual(["acknowledged", "blind, after the loss"]);
      }
    }, 90_000);
  }
});
