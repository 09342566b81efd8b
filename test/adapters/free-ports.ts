// Finds blocks of free consecutive TCP ports on loopback for tests that bind real sockets.
// Random bases in a high range avoid clashes between test files running in parallel; each
// candidate port is probed by binding it.
import { createServer } from "node:net";

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
    const base = 20_000 + Math.floor(Math.random() * 35_000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await probe(base + i, host);
    if (ok) return base;
  }
  throw new Error(`no block of ${count} free ports found`);
}
