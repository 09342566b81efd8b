// Run inside `unshare --net --mount` as root (see multi-host.test.ts): a 3-node cluster as on
// three hosts. Each node runs in a network namespace of its own (`ip netns`), on a veth pair
// into one bridge, with its own address (10.77.0.1-3); nodes are addressed by DNS names
// (mec-1.mec.test ... in an /etc/hosts bind-mounted for this mount namespace only), CURVE is
// on. Writes through one node, reads through each of the others, and prints one RESULT line.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "smol-toml";
import { generateKeyPair, writeKeyFile } from "../../../src/adapters/curve-keys.ts";
import { checkHealth, killAllSpawned, sleep, spawnMec } from "../harness.ts";

const NODES = 3;
const PORT = 7000;
const HTTP_PORT = 8000;
const sh = (cmd: string, ...args: string[]): void => void execFileSync(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
const dir = mkdtempSync(join(tmpdir(), "mec-multihost-"));
const names = Array.from({ length: NODES }, (_, i) => `mec-${i + 1}`);
const host = (i: number): string => `${names[i]}.mec.test`;
const address = (i: number): string => `10.77.0.${i + 1}`;

// Namespace files on a tmpfs of this mount namespace: nothing is left in the host's /run/netns.
sh("mkdir", "-p", "/run/netns");
sh("mount", "-t", "tmpfs", "tmpfs", "/run/netns");
// The network: a bridge in this namespace (10.77.0.254 for the test's client), one namespace per node.
sh("ip", "link", "set", "lo", "up");
sh("ip", "link", "add", "br0", "type", "bridge");
sh("ip", "addr", "add", "10.77.0.254/24", "dev", "br0");
sh("ip", "link", "set", "br0", "up");
for (let i = 0; i < NODES; i++) {
  const ns = names[i]!;
  sh("ip", "netns", "add", ns);
  sh("ip", "link", "add", `v${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
  sh("ip", "link", "set", `v${i}`, "master", "br0", "up");
  sh("ip", "-n", ns, "addr", "add", `${address(i)}/24`, "dev", "eth0");
  sh("ip", "-n", ns, "link", "set", "eth0", "up");
  sh("ip", "-n", ns, "link", "set", "lo", "up");
}
// Names, as a cluster DNS would give them (this mount namespace only).
const hosts = join(dir, "hosts");
writeFileSync(hosts, `127.0.0.1 localhost\n${names.map((_, i) => `${address(i)} ${host(i)}`).join("\n")}\n`);
sh("mount", "--bind", hosts, "/etc/hosts");

const keys = names.map((name, i) => {
  const pair = generateKeyPair();
  const path = join(dir, `${name}.key`);
  writeKeyFile(path, pair, name);
  return { path, publicKey: pair.publicKey, i };
});
const tomlOf = (i: number): string =>
  stringify({
    name: names[i]!,
    port: PORT, // the same ports on every "host"
    httpport: HTTP_PORT,
    root: join(dir, names[i]!),
    bind: host(i),
    curve_key_file: keys[i]!.path,
    sync: false,
    log_level: "warn",
    request_timeout_ms: 4000,
    heartbeat_interval_ms: 100,
    suspect_after_ms: 1000,
    n: 3,
    r: 2,
    w: 2,
    partitions: 8,
    node: keys.map((k) => ({ host: host(k.i), port: PORT, curve_public_key: k.publicKey })),
  });
const url = (i: number): string => `http://${host(i)}:${HTTP_PORT}`;
try {
  for (let i = 0; i < NODES; i++) {
    const config = join(dir, `${names[i]}.toml`);
    writeFileSync(config, tomlOf(i));
    spawnMec(["--config", config], { prefix: ["ip", "netns", "exec", names[i]!] });
  }
  const until = Date.now() + 60_000;
  for (let i = 0; i < NODES; i++) {
    for (;;) {
      const h = await checkHealth(url(i), { id: `${host(i)}:${PORT}`, name: names[i]! });
      if (h.state === "ready") break;
      if (h.state === "foreign" || Date.now() > until) throw new Error(`${names[i]} not ready: ${JSON.stringify(h)}`);
      await sleep(100);
    }
  }
  const put = await fetch(`${url(0)}/mec/greeting`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "across hosts", signal: AbortSignal.timeout(20_000) });
  await put.arrayBuffer();
  const reads: { status: number; body: string }[] = [];
  for (const i of [1, 2]) {
    const res = await fetch(`${url(i)}/mec/greeting`, { signal: AbortSignal.timeout(20_000) });
    reads.push({ status: res.status, body: await res.text() });
  }
  const health = (await (await fetch(`${url(2)}/health`)).json()) as { id: string };
  process.stdout.write(`RESULT ${JSON.stringify({ put: put.status, reads, id: health.id })}\n`);
} finally {
  await killAllSpawned();
}
