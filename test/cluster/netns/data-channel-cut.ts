// Run inside a private network namespace (`unshare --net`, see data-channel.test.ts): boots a
// real 4-node cluster (n = 3), then drops every TCP packet to one node's data port (port + 1)
// with nftables, so requests to that node die while its heartbeats (control port) and its own
// messages to the others still flow. Writes whose minting replica is that node are then sent,
// one after another, through the one node that is not their primary (they are forwarded);
// prints one JSON line with each outcome's HTTP status.
import { execFileSync } from "node:child_process";
import { createRing, partitionOf, preferenceList } from "../../../src/core/ring/index.ts";
import { TEST_TOML, startTestCluster } from "../harness.ts";

const PARTITIONS = 8;
execFileSync("ip", ["link", "set", "lo", "up"]);
// Shorter request timeout than TEST_TOML's: the cut costs one timeout per failed write.
const toml = { ...TEST_TOML, partitions: PARTITIONS, request_timeout_ms: 1500, n: 3, r: 2, w: 2 };
const cluster = await startTestCluster(4, toml);
try {
  const ids = cluster.nodes.map((n) => n.id);
  const ring = createRing([...ids].sort(), PARTITIONS);
  // Partition 0: its first primary mints (the node whose data port is cut), and the one node
  // that is not a primary coordinates (its writes are forwarded).
  const primaries = preferenceList(ring, 0, 3).primaries;
  const mint = ids.indexOf(primaries[0]!);
  const via = ids.findIndex((id) => !primaries.includes(id));
  const keys: string[] = [];
  for (let i = 0; keys.length < 8 && i < 100_000; i++) if (partitionOf(`cut-${i}`, PARTITIONS) === 0) keys.push(`cut-${i}`);
  const dataPort = cluster.node(mint).spec.port + 1;
  const nft = (...args: string[]): void => void execFileSync("nft", args);
  nft("add", "table", "inet", "cut");
  nft("add", "chain", "inet", "cut", "out", "{ type filter hook output priority 0 ; }");
  nft("add", "rule", "inet", "cut", "out", "tcp", "dport", String(dataPort), "drop");
  const statuses: number[] = [];
  for (const key of keys) {
    const res = await fetch(`${cluster.node(via).url}/mec/${key}`, { method: "PUT", headers: { "content-type": "text/plain" }, body: key, signal: AbortSignal.timeout(20_000) });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  const stats = (await (await fetch(`${cluster.node(via).url}/stats`)).json()) as unknown;
  process.stdout.write(`RESULT ${JSON.stringify({ keys: keys.length, statuses, stats })}\n`);
} finally {
  await cluster.stopAll();
}
