import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { ZmqTransport, frameBatch, parseNodeId, unframeBatch } from "../../src/adapters/zmq-transport.ts";
import { freePortBlock } from "./free-ports.ts";

const open: ZmqTransport[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

async function start(port: number, extra: Partial<Parameters<typeof ZmqTransport.start>[0]> = {}): Promise<ZmqTransport> {
  const t = await ZmqTransport.start({ selfId: `127.0.0.1:${port}`, bind: "127.0.0.1", port, ...extra });
  open.push(t);
  return t;
}

function inbox(t: ZmqTransport): { got: [string, string][]; waitFor(n: number, ms?: number): Promise<void> } {
  const got: [string, string][] = [];
  t.onMessage((from, bytes) => got.push([from, Buffer.from(bytes).toString("utf8")]));
  return {
    got,
    async waitFor(n, ms = 3000) {
      const until = Date.now() + ms;
      while (got.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    },
  };
}

/** Sends until the receiver has seen at least one message (the first connect takes a few ms). */
async function sendUntilConnected(from: ZmqTransport, to: string, box: { got: unknown[] }): Promise<void> {
  const until = Date.now() + 3000;
  while (box.got.length === 0 && Date.now() < until) {
    from.send(to, new TextEncoder().encode("probe"));
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(box.got.length).toBeGreaterThan(0);
}

const enc = (s: string) => new TextEncoder().encode(s);

describe("parseNodeId", () => {
  it("splits host and port at the last colon", () => {
    expect(parseNodeId("127.0.0.1:7000")).toEqual({ host: "127.0.0.1", port: 7000 });
    expect(parseNodeId("[::1]:7000")).toEqual({ host: "::1", port: 7000 });
    expect(() => parseNodeId("n1")).toThrow(/host:port/);
    expect(() => parseNodeId("h:99999")).toThrow(/host:port/);
  });
});

describe("ZmqTransport", () => {
  it("delivers bytes with the sender's node id, in order, on both channels", async () => {
    const base = await freePortBlock(4);
    // Messages starting with "c" go on the control channel (port), others on data (port + 1).
    const classify = (b: Uint8Array): "control" | "data" => (b[0] === 0x63 ? "control" : "data");
    // (The control channel's high-water mark is small by default: a burst of 50 would overflow it.)
    const a = await start(base, { classify, controlHighWaterMark: 1000 });
    const b = await start(base + 2, { classify });
    const box = inbox(b);
    await sendUntilConnected(a, `127.0.0.1:${base + 2}`, box);
    box.got.length = 0;
    const until = Date.now() + 3000; // now the control channel
    while (box.got.length === 0 && Date.now() < until) {
      a.send(`127.0.0.1:${base + 2}`, enc("cprobe"));
      await new Promise((r) => setTimeout(r, 20));
    }
    box.got.length = 0;
    for (let i = 0; i < 50; i++) a.send(`127.0.0.1:${base + 2}`, enc(`d${i}`));
    for (let i = 0; i < 50; i++) a.send(`127.0.0.1:${base + 2}`, enc(`c${i}`));
    await box.waitFor(100);
    expect(box.got.every(([from]) => from === `127.0.0.1:${base}`)).toBe(true);
    const data = box.got.filter(([, m]) => m.startsWith("d")).map(([, m]) => m);
    const control = box.got.filter(([, m]) => m.startsWith("c")).map(([, m]) => m);
    expect(data).toEqual(Array.from({ length: 50 }, (_, i) => `d${i}`));
    expect(control).toEqual(Array.from({ length: 50 }, (_, i) => `c${i}`));
    expect(a.stats.sent).toBeGreaterThanOrEqual(100);
  });

  it("delivers binary payloads byte for byte", async () => {
    const base = await freePortBlock(4);
    const a = await start(base);
    const b = await start(base + 2);
    const got: Uint8Array[] = [];
    b.onMessage((_from, bytes) => got.push(bytes));
    await sendUntilConnected(a, `127.0.0.1:${base + 2}`, { get got() { return got; } });
    got.length = 0;
    const payload = new Uint8Array(256).map((_, i) => i);
    a.send(`127.0.0.1:${base + 2}`, payload);
    const until = Date.now() + 2000;
    while (got.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(Array.from(got[0] ?? [])).toEqual(Array.from(payload));
  });

  it("connects to the peers it is given at start, so the first message gets through", async () => {
    const base = await freePortBlock(4);
    const b = await start(base + 2);
    const box = inbox(b);
    const peer = `127.0.0.1:${base + 2}`;
    // immediate: true drops what is sent before the connection is up, so the first message
    // gets through only if the transport connected at start.
    const a = await start(base, { peers: [`127.0.0.1:${base}`, peer], immediate: true });
    const until = Date.now() + 5000;
    while (!a.isConnected(peer) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(a.isConnected(peer)).toBe(true); // before anything was sent
    a.send(peer, enc("first"));
    await box.waitFor(1);
    expect(box.got).toEqual([[`127.0.0.1:${base}`, "first"]]);
    // Without start peers nothing is connected until the first send.
    const c = await start(await freePortBlock(2));
    expect(c.isConnected(peer)).toBe(false);
  });

  it("delivers messages to itself asynchronously", async () => {
    const base = await freePortBlock(2);
    const a = await start(base);
    const box = inbox(a);
    a.send(`127.0.0.1:${base}`, enc("me"));
    expect(box.got).toEqual([]); // never re-entrant
    await box.waitFor(1);
    expect(box.got).toEqual([[`127.0.0.1:${base}`, "me"]]);
  });

  it("queues up to the high-water mark for a peer that is down, then drops and counts, without blocking", async () => {
    const base = await freePortBlock(4);
    const a = await start(base, { sendHighWaterMark: 100 });
    const t0 = Date.now();
    for (let i = 0; i < 5000; i++) a.send(`127.0.0.1:${base + 2}`, enc(`m${i}`));
    await new Promise((r) => setTimeout(r, 100));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(a.stats.sent + a.stats.droppedUnreachable + a.stats.droppedQueueFull).toBe(5000);
    expect(a.stats.sent).toBeGreaterThanOrEqual(100); // held by libzmq for the peer
    expect(a.stats.sent).toBeLessThanOrEqual(200);
    expect(a.queued).toBe(0);
  });

  it("delivers what was sent before the peer started, once it is up (boot order does not matter)", async () => {
    const base = await freePortBlock(4);
    const a = await start(base, { peers: [`127.0.0.1:${base + 2}`] });
    a.send(`127.0.0.1:${base + 2}`, enc("early"));
    await new Promise((r) => setTimeout(r, 300));
    const b = await start(base + 2);
    const box = inbox(b);
    await box.waitFor(1);
    expect(box.got).toEqual([[`127.0.0.1:${base}`, "early"]]);
  });

  it("bounds each peer's queue, dropping the oldest", async () => {
    const base = await freePortBlock(4);
    // A send timeout makes each send to the dead peer wait, so the JS queue fills up.
    const a = await start(base, { queueMax: 10, sendTimeoutMs: 50 });
    for (let i = 0; i < 1000; i++) a.send(`127.0.0.1:${base + 2}`, enc(`m${i}`));
    expect(a.queued).toBeLessThanOrEqual(10);
    expect(a.stats.droppedQueueFull).toBeGreaterThanOrEqual(989);
  });

  it("reaches a peer again after it restarts on the same port", async () => {
    const base = await freePortBlock(4);
    const a = await start(base);
    let b = await start(base + 2);
    const bId = `127.0.0.1:${base + 2}`;
    let box = inbox(b);
    await sendUntilConnected(a, bId, box);
    b.close();
    await new Promise((r) => setTimeout(r, 100));
    a.send(bId, enc("lost"));
    b = await start(base + 2);
    box = inbox(b);
    await sendUntilConnected(a, bId, box);
    expect(box.got.some(([from, m]) => from === `127.0.0.1:${base}` && m === "probe")).toBe(true);
    // A message sent while b was down was held and delivered late (the node copes: request ids).
    expect(box.got.some(([, m]) => m === "lost")).toBe(true);
  });

  it("fails fast with a clear message when the port is taken", async () => {
    const base = await freePortBlock(4);
    await start(base);
    await expect(start(base + 1)).rejects.toThrow(/cannot bind the control socket on tcp:\/\/127\.0\.0\.1:\d+: already in use/);
  });

  it("lets the process exit after close even with undeliverable messages", async () => {
    const base = await freePortBlock(4);
    const script = `
      import { ZmqTransport } from "./src/adapters/zmq-transport.ts";
      const t = await ZmqTransport.start({ selfId: "127.0.0.1:${base}", bind: "127.0.0.1", port: ${base}, sendTimeoutMs: 60000 });
      for (let i = 0; i < 100; i++) t.send("127.0.0.1:${base + 2}", new Uint8Array([1, 2, 3]));
      setTimeout(() => t.close(), 50);
    `;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { timeout: 15_000, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });
});

describe("batch framing", () => {
  it("round-trips messages of any size, empty ones included, and refuses truncated frames", () => {
    const msgs = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(70_000).fill(9), new Uint8Array([255])];
    const frame = frameBatch(msgs);
    expect(frame.length).toBe(4 * 4 + 3 + 0 + 70_000 + 1);
    expect(unframeBatch(frame)?.map((m) => Array.from(m.subarray(0, 4)))).toEqual([[1, 2, 3], [], [9, 9, 9, 9], [255]]);
    expect(unframeBatch(frame)?.map((m) => m.length)).toEqual([3, 0, 70_000, 1]);
    expect(unframeBatch(frame.subarray(0, frame.length - 1))).toBeNull();
    expect(unframeBatch(frame.subarray(0, 2))).toBeNull();
    expect(unframeBatch(Buffer.alloc(0))).toBeNull();
  });

  it("delivers a burst sent in one turn in order, as separate messages", async () => {
    const base = await freePortBlock(4);
    const b = await start(base + 2);
    const box = inbox(b);
    const a = await start(base, { peers: [`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`] });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 300; i++) a.send(`127.0.0.1:${base + 2}`, new TextEncoder().encode(`m${i}`));
    await box.waitFor(300);
    expect(box.got.map(([, m]) => m)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    expect(a.stats.sent).toBe(300);
  });
});
