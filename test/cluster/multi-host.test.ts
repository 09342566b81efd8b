// A cluster as on three hosts, on real processes: each node in a network namespace of its own
// with a distinct address, nodes addressed by DNS names, CURVE on (netns/multi-host.ts, run in
// `unshare --net --mount` as root). A write through one node reads back through the others.
import { describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { REPO_ROOT } from "./harness.ts";

const SCRIPT = fileURLToPath(new URL("./netns/multi-host.ts", import.meta.url));
const TSX = fileURLToPath(new URL("../../node_modules/tsx/dist/esm/index.mjs", import.meta.url));

/** Why namespaces cannot be used here, or null when they can. */
function whyNoNamespaces(): string | null {
  if (process.getuid?.() !== 0) return "needs root (network namespaces and veth pairs)";
  const probe = spawnSync("unshare", ["--net", "--mount", "--", "sh", "-c", "mkdir -p /run/netns && mount -t tmpfs tmpfs /run/netns && ip link add br0 type bridge && ip netns add probe"], { encoding: "utf8" });
  return probe.status === 0 ? null : `unshare --net --mount with ip netns failed: ${probe.stderr.trim()}`;
}
const skip = whyNoNamespaces();
if (skip !== null) console.warn(`multi-host.test.ts skipped: ${skip}`);

describe.skipIf(skip !== null)("nodes on separate hosts (one network namespace each, DNS names, CURVE)", () => {
  it("three nodes with addresses 10.77.0.1-3 find each other by name; a write reads back through the others", async () => {
    const child = spawn("unshare", ["--net", "--mount", "--", process.execPath, "--import", TSX, SCRIPT], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (err += c.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    clearTimeout(timer);
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    expect(line, `no result (exit ${code}):\n${err}\n${out.slice(-2000)}`).toBeDefined();
    const r = JSON.parse(line!.slice("RESULT ".length)) as { put: number; reads: { status: number; body: string }[]; id: string };
    expect(r.put).toBe(200);
    expect(r.reads).toEqual([
      { status: 200, body: "across hosts" },
      { status: 200, body: "across hosts" },
    ]);
    expect(r.id).toBe("mec-3.mec.test:7000");
  }, 180_000);
});
