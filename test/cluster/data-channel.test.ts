// A dead data channel with a live control channel, on real processes: inside a private
// network namespace (unshare --net, as root, with nftables), every TCP packet to one node's
// data port is dropped while its heartbeats keep flowing. Writes forwarded to it must route
// around it after the first timeout instead of timing out one after another (heartbeats used
// to clear the suspicion a timeout raised).
import { describe, expect, it } from "vitest";
import { spawnSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "./harness.ts";

const SCRIPT = fileURLToPath(new URL("./netns/data-channel-cut.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/tsx/dist/esm/index.mjs", import.meta.url));

function canCutChannels(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync("unshare", ["--net", "--", "sh", "-c", "ip link set lo up && nft add table inet probe"], { stdio: "ignore" });
  return probe.status === 0;
}

describe.skipIf(!canCutChannels())("a dead data channel with a live control channel (real processes, nftables)", () => {
  it("after one timed-out forward, writes route around the node whose data port is cut and succeed", async () => {
    const child = spawn("unshare", ["--net", "--", process.execPath, "--import", TSX, SCRIPT], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    expect(line, `no result (exit ${code}):\n${err}\n${out.slice(-2000)}`).toBeDefined();
    const result = JSON.parse(line!.slice("RESULT ".length)) as { keys: number; statuses: number[] };
    expect(result.keys).toBe(8);
    // The first write learns that node-2 cannot be reached (503, maybe applied); every later
    // one goes to another primary.
    expect(result.statuses.slice(1)).toEqual([200, 200, 200, 200, 200, 200, 200]);
  }, 180_000);
});
