// Finds blocks of free consecutive TCP ports on loopback for tests that bind real sockets.
// Random bases avoid clashes between test files running in parallel; each candidate port is
// probed by binding it. The range stays below the kernel's ephemeral port range (Linux:
// 32768-60999 by default), because outgoing connections (ZeroMQ DEALERs, fetch) take their
// local port from there and could grab a port between our probe and the node's bind.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const RANGE_LOW = 10_000;

function ephemeralLow(): number {
  try {
    const [low] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/);
    const n = Number(low);
    return Number.isInteger(n) && n > RANGE_LOW + 2000 ? n : 32_768;
  } catch {
    return 32_768;
  }
}

const RANGE_HIGH = ephemeralLow(); // exclusive

function probe(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A base port such that base .. base+count-1 are free on host now. */
export async function freePortBlock(count: number, host = "127.0.0.1"): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = RANGE_LOW + Math.floor(Math.random() * (RANGE_HIGH - RANGE_LOW - count));
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await probe(base + i, host);
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found`);
}
