// Security of real node processes (bin/mec.js, ZeroMQ, LevelDB, HTTP):
// - a CURVE cluster: a DEALER without keys, and one with a non-member's key pair, send forged
//   put, replicate, ae-sync, heartbeat and get messages: nothing changes, nothing is read;
// - the same cluster's HTTP side: sibling and object size caps answer their 4xx, a trickled
//   body and a stalled body are cut while other clients are served, parser errors are JSON;
// - a cluster without keys (loopback): a forged hint with invalid UTF-8 no longer kills a
//   node, and a message whose `from` is not its connection's id is dropped and counted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, type Socket } from "node:net";
import { Dealer, curveKeyPair } from "zeromq";
import { readKeyFile } from "../../src/adapters/curve-keys.ts";
import { frameBatch } from "../../src/adapters/zmq-transport.ts";
import { MecClient } from "../../src/client/index.ts";
import { encodeMessage, type PeerMessage } from "../../src/core/messages.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import { applyWrite, emptyClock, emptySet, encodeSiblingSet } from "../../src/core/versioning/index.ts";
import { TEST_TOML, sleep, startTestCluster, type TestCluster } from "./harness.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function pollUntil(cond: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > until) return false;
    await sleep(50);
  }
}

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(8000) });
  return { status: res.status, body: await res.text() };
}

async function metric(url: string, name: string, label = ""): Promise<number> {
  const text = (await raw(`${url}/metrics`)).body;
  const line = text.split("\n").find((l) => l.startsWith(name) && l.includes(label));
  return line === undefined ? NaN : Number(line.split(" ").pop());
}

/** A forged set for `key`: a blind write by an actor no node has, with a huge counter (a dominating clock). */
function forgedSet(key: string): Uint8Array {
  const { set } = applyWrite("dvv", emptySet(), new Map([["evil.00000000", { counter: 1_000_000, timestamp: 0n }]]), "evil.00000000", {
    value: enc(`forged ${key}`),
    contentType: "text/plain",
    timestamp: 1n,
  });
  return encodeSiblingSet(set);
}

/** Node ids, ports and the ring of a test cluster. */
function topology(cluster: TestCluster, partitions: number): { ids: string[]; ring: ReturnType<typeof createRing> } {
  const ids = cluster.nodes.map((n) => `127.0.0.1:${n.spec.port}`).sort();
  return { ids, ring: createRing(ids, partitions) };
}

/** A DEALER aimed at one node's socket (data: port + 1, control: port), claiming to be `claim`. */
function attacker(port: number, claim: string, keys: "none" | { serverKey: string }): Dealer {
  const stranger = curveKeyPair();
  const d = new Dealer({
    routingId: claim,
    linger: 0,
    sendTimeout: 0,
    receiveTimeout: 300,
    ...(keys === "none" ? {} : { curveServerKey: keys.serverKey, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey }),
  });
  d.connect(`tcp://127.0.0.1:${port}`);
  return d;
}

/** Sends messages a few times (a connection attempt takes a moment) and collects anything received. */
async function fire(d: Dealer, messages: PeerMessage[], rounds = 15): Promise<Buffer[][]> {
  const received: Buffer[][] = [];
  for (let i = 0; i < rounds; i++) {
    await d.send(frameBatch(messages.map(encodeMessage))).catch(() => {});
    try {
      received.push(await d.receive());
    } catch {
      // receive timeout: nothing came back
    }
  }
  return received;
}

const CAPS_TOML = { ...TEST_TOML, warn_siblings: 2, max_siblings: 3, warn_object_bytes: 2048, max_object_bytes: 4096, http_request_timeout_ms: 2000, http_idle_timeout_ms: 1500 };

describe("a CURVE cluster of real processes", () => {
  let cluster: TestCluster;
  let db: MecClient[];
  const partitions = 8;

  beforeAll(async () => {
    cluster = await startTestCluster(3, CAPS_TOML, { curve: true });
    db = cluster.nodes.map((n) => new MecClient(n.url, { timeoutMs: 8000 }));
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it("writes and reads work across nodes with CURVE on (mec cluster's key files)", async () => {
    await db[0]!.put("curve-ok", "hello", { contentType: "text/plain" });
    for (const c of db) expect((await c.get("curve-ok")).siblings.map((s) => new TextDecoder().decode(s.value))).toEqual(["hello"]);
    expect(cluster.nodes.every((n) => readKeyFile(n.spec.keyPath).publicKey.length === 40)).toBe(true);
  });

  it.each(["none", "stranger"] as const)(
    "a DEALER with %s keys sending forged put, replicate, ae-sync, heartbeat and get changes nothing and reads nothing",
    async (kind) => {
      const { ids, ring } = topology(cluster, partitions);
      const victim = cluster.node(0);
      const victimId = `127.0.0.1:${victim.spec.port}`;
      const claim = ids.find((id) => id !== victimId)!; // claims to be another member
      const serverKey = readKeyFile(victim.spec.keyPath).publicKey;
      const keys = kind === "none" ? "none" : { serverKey };
      // A key the victim is a primary of, for every message type.
      let k = 0;
      const keyFor = (what: string): { key: string; partition: number } => {
        for (;;) {
          const key = `${kind}-${what}-${k++}`;
          const partition = partitionOf(key, partitions);
          if (preferenceList(ring, partition, 3).primaries.includes(victimId)) return { key, partition };
        }
      };
      const put = keyFor("put");
      const rep = keyFor("replicate");
      const ae = keyFor("ae-sync");
      const secretKey = `curve-secret-${kind}`;
      await db[0]!.put(secretKey, "top secret", { contentType: "text/plain" });
      const secret = { key: secretKey, partition: partitionOf(secretKey, partitions) };
      const rid = (i: number): string => `${claim}/00000000/${i}`;
      const data: PeerMessage[] = [
        { type: "put", reqId: rid(1), from: claim, op: "put", partition: put.partition, key: put.key, value: enc("forged"), contentType: "text/plain", context: null, w: 1, clientId: null, toBoot: null },
        { type: "replicate", reqId: rid(2), from: claim, partition: rep.partition, key: rep.key, set: forgedSet(rep.key), hint: null },
        { type: "ae-sync", reqId: rid(3), from: claim, partition: ae.partition, objects: [[ae.key, forgedSet(ae.key)]], want: [secret.key] },
        { type: "get", reqId: rid(4), from: claim, partition: secret.partition, key: secret.key },
      ];
      const deniedBefore = await metric(victim.url, "mec_transport_zap_denied");
      const dataDealer = attacker(victim.spec.port + 1, claim, keys);
      const controlDealer = attacker(victim.spec.port, claim, keys);
      try {
        const [gotData, gotControl] = await Promise.all([fire(dataDealer, data), fire(controlDealer, [{ type: "heartbeat", from: claim, boot: "0000002a" }])]);
        expect(gotData).toEqual([]); // read nothing (no get-reply, no ae-sync-reply)
        expect(gotControl).toEqual([]);
      } finally {
        dataDealer.close();
        controlDealer.close();
      }
      await sleep(300);
      for (const c of db) {
        for (const key of [put.key, rep.key, ae.key]) expect((await c.get(key)).status, `${key} on ${c.baseUrl}`).toBe("not-found");
        expect((await c.get(secret.key)).siblings.map((s) => new TextDecoder().decode(s.value))).toEqual(["top secret"]);
      }
      // A plain DEALER fails the handshake before ZAP (mechanism mismatch); a stranger's key is refused by ZAP.
      if (kind === "stranger") expect(await metric(victim.url, "mec_transport_zap_denied")).toBeGreaterThan(deniedBefore);
    },
    30_000,
  );

  it("forged heartbeats from outside do not revive a stopped member", async () => {
    const dead = cluster.node(2);
    const deadId = `127.0.0.1:${dead.spec.port}`;
    const watcher = cluster.node(0);
    const suspected = async (): Promise<boolean> => ((JSON.parse((await raw(`${watcher.url}/stats`)).body) as { suspectedPeers: string[] }).suspectedPeers ?? []).includes(deadId);
    await dead.kill("SIGKILL");
    expect(await pollUntil(suspected, 10_000)).toBe(true);
    const plain = attacker(watcher.spec.port, deadId, "none");
    const outsider = attacker(watcher.spec.port, deadId, { serverKey: readKeyFile(watcher.spec.keyPath).publicKey });
    try {
      for (let i = 0; i < 20; i++) {
        await plain.send(frameBatch([encodeMessage({ type: "heartbeat", from: deadId, boot: "0000002a" })])).catch(() => {});
        await outsider.send(frameBatch([encodeMessage({ type: "heartbeat", from: deadId, boot: "0000002a" })])).catch(() => {});
        await sleep(100);
        expect(await suspected()).toBe(true);
      }
    } finally {
      plain.close();
      outsider.close();
    }
    dead.start();
    await dead.waitReady();
    expect(await pollUntil(async () => !(await suspected()), 10_000)).toBe(true);
  }, 60_000);

  it("the sibling cap answers 409 naming max_siblings; writing back with the vclock resolves it", async () => {
    const url = `${cluster.node(0).url}/mec/caps-siblings`;
    for (let i = 0; i < 3; i++) expect((await raw(url, { method: "PUT", body: `v${i}` })).status).toBe(200);
    const refused = await raw(url, { method: "PUT", body: "one too many" });
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({ error: "too-many-siblings" });
    expect(refused.body).toContain("max_siblings = 3");
    const read = await db[1]!.get("caps-siblings");
    expect(read.siblings.length).toBe(3);
    await db[1]!.put("caps-siblings", "merged", { vclock: read.vclock! });
    expect((await db[2]!.get("caps-siblings")).siblings.length).toBe(1);
    expect(await metric(cluster.node(0).url, "mec_writes_refused_total", 'limit="siblings"')).toBeGreaterThan(0);
  });

  it("the object size cap answers 413 naming max_object_bytes", async () => {
    const res = await raw(`${cluster.node(1).url}/mec/caps-size`, { method: "PUT", body: "x".repeat(5000) });
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toMatchObject({ error: "object-too-large" });
    expect(res.body).toContain("max_object_bytes = 4096");
    expect((await raw(`${cluster.node(1).url}/mec/caps-size`, { method: "PUT", body: "x".repeat(1000) })).status).toBe(200);
  });

  /** A raw TCP client: everything the server sends, and when it closed the connection. */
  function rawClient(port: number): { socket: Socket; data: () => string; closedAt: Promise<number> } {
    const socket = connect(port, "127.0.0.1");
    let data = "";
    socket.on("data", (c) => (data += c.toString("latin1")));
    socket.on("error", () => {});
    const closedAt = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now())));
    return { socket, data: () => data, closedAt };
  }

  it("a body trickled a byte every 200 ms is cut (408, JSON) within the request timeout while others are served", async () => {
    const node = cluster.node(0);
    const c = rawClient(node.spec.httpPort);
    const started = Date.now();
    c.socket.write("PUT /mec/trickle HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n");
    let closed = false;
    void c.closedAt.then(() => (closed = true));
    const trickle = setInterval(() => !closed && c.socket.write("a"), 200);
    try {
      // Other clients are served meanwhile.
      for (let i = 0; i < 5; i++) expect((await raw(`${node.url}/mec/trickle-other-${i}`, { method: "PUT", body: `v${i}` })).status).toBe(200);
      const at = await Promise.race([c.closedAt, sleep(10_000).then(() => NaN)]);
      expect(at - started).toBeLessThan(6000); // 2 s timeout, checked every 500 ms, + load slack
      expect(c.data()).toMatch(/^HTTP\/1\.1 408/);
      expect(c.data()).toContain('"error":"timeout"');
    } finally {
      clearInterval(trickle);
      c.socket.destroy();
    }
    expect((await raw(`${node.url}/mec/trickle`)).status).toBe(404); // nothing stored
  });

  it("a half-sent body that stalls is dropped after the idle timeout", async () => {
    const c = rawClient(cluster.node(1).spec.httpPort);
    const started = Date.now();
    c.socket.write("PUT /mec/stalled HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nhalf");
    const at = await Promise.race([c.closedAt, sleep(10_000).then(() => NaN)]);
    expect(at - started).toBeLessThan(6000);
    c.socket.destroy();
  });

  it("Node's parser errors answer in the API's JSON shape: 400 for garbage, 431 for huge headers", async () => {
    const port = cluster.node(2).spec.httpPort;
    const garbage = rawClient(port);
    garbage.socket.write("THIS IS NOT HTTP\r\n\r\n");
    await garbage.closedAt;
    expect(garbage.data()).toMatch(/^HTTP\/1\.1 400/);
    expect(JSON.parse(garbage.data().split("\r\n\r\n")[1]!)).toMatchObject({ error: "bad-request" });
    const huge = rawClient(port);
    huge.socket.write(`GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    await huge.closedAt;
    expect(huge.data()).toMatch(/^HTTP\/1\.1 431/);
    expect(JSON.parse(huge.data().split("\r\n\r\n")[1]!)).toMatchObject({ error: "headers-too-large" });
  });
});

describe("a cluster without keys (loopback)", () => {
  let cluster: TestCluster;
  const partitions = 8;

  beforeAll(async () => {
    cluster = await startTestCluster(3, { ...TEST_TOML, n: 2, r: 1, w: 1 });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it("a forged hint whose string is invalid UTF-8 is dropped and counted; the node keeps serving", async () => {
    const { ids, ring } = topology(cluster, partitions);
    const victim = cluster.node(0);
    const victimId = `127.0.0.1:${victim.spec.port}`;
    const claim = ids.find((id) => id !== victimId)!;
    // A key the victim is NOT a primary of, so a hint would be stored under the hint's name.
    let key = "";
    for (let i = 0; ; i++) {
      key = `hint-${i}`;
      if (!preferenceList(ring, partitionOf(key, partitions), 2).primaries.includes(victimId)) break;
    }
    const partition = partitionOf(key, partitions);
    const msg = encodeMessage({ type: "replicate", reqId: `${claim}/00000000/1`, from: claim, partition, key, set: forgedSet(key), hint: "ZQX" });
    // Patch the hint's bytes (fixstr "ZQX") into ED A0 80: a lone surrogate, not UTF-8.
    const at = Buffer.from(msg).indexOf(Buffer.from([0xa3, 0x5a, 0x51, 0x58]));
    expect(at).toBeGreaterThan(0);
    msg.set([0xed, 0xa0, 0x80], at + 1);
    const d = attacker(victim.spec.port + 1, claim, "none");
    try {
      for (let i = 0; i < 10; i++) {
        await d.send(frameBatch([msg])).catch(() => {});
        await sleep(50);
      }
    } finally {
      d.close();
    }
    expect(await pollUntil(async () => (await metric(victim.url, "mec_peer_messages_dropped_total", 'reason="malformed"')) > 0, 5000)).toBe(true);
    await sleep(300);
    expect(victim.process!.exit).toBeNull();
    expect((await raw(`${victim.url}/ping`)).status).toBe(200);
    expect((await raw(`${victim.url}/mec/${key}`)).status).toBe(404);
  }, 30_000);

  it("a message whose from is not the connection's id is dropped as forged-sender", async () => {
    const victim = cluster.node(1);
    const victimId = `127.0.0.1:${victim.spec.port}`;
    const { ids } = topology(cluster, partitions);
    const [a, b] = ids.filter((id) => id !== victimId) as [string, string];
    const d = attacker(victim.spec.port, a, "none");
    try {
      for (let i = 0; i < 10; i++) {
        await d.send(frameBatch([encodeMessage({ type: "heartbeat", from: b, boot: "0000002a" })])).catch(() => {});
        await sleep(50);
      }
    } finally {
      d.close();
    }
    expect(await pollUntil(async () => (await metric(victim.url, "mec_peer_messages_dropped_total", 'reason="forged-sender"')) > 0, 5000)).toBe(true);
  }, 30_000);
});
