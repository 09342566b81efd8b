// CURVE on the real transport: members talk; a plain DEALER, an outsider's keys and a DEALER
// that expects the wrong server key get nothing through and receive nothing.
import { afterEach, describe, expect, it } from "vitest";
import { Dealer, curveKeyPair } from "zeromq";
import { generateKeyPair, isCurveKey, publicKeyOf, z85Decode, z85Encode } from "../../src/adapters/curve-keys.ts";
import { ZmqTransport, frameBatch } from "../../src/adapters/zmq-transport.ts";
import { PeerAuthenticator } from "../../src/adapters/peer-auth.ts";
import { freePortBlock } from "./free-ports.ts";

const open: { close(): void }[] = [];
afterEach(() => {
  for (const t of open.splice(0)) t.close();
});

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function pollUntil(cond: () => boolean, ms = 3000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await sleep(10);
  return cond();
}

describe("CURVE keys", () => {
  it("Z85 round-trips and matches libzmq's key pairs (X25519)", () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff);
    expect(z85Decode(z85Encode(bytes))).toEqual(bytes);
    expect(z85Encode(Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe("HelloWorld"); // RFC 32's test vector
    const zmqPair = curveKeyPair();
    expect(publicKeyOf(zmqPair.secretKey)).toBe(zmqPair.publicKey);
    const ours = generateKeyPair();
    expect(isCurveKey(ours.publicKey) && isCurveKey(ours.secretKey)).toBe(true);
    expect(publicKeyOf(ours.secretKey)).toBe(ours.publicKey);
  });
});

describe("ZmqTransport with CURVE", () => {
  it("members exchange messages; a plain DEALER and an outsider's keys are refused and counted", async () => {
    const base = await freePortBlock(4);
    const [ida, idb] = [`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`];
    const ka = generateKeyPair();
    const kb = generateKeyPair();
    const peerKeys = new Map([[ida, ka.publicKey], [idb, kb.publicKey]]);
    const a = await ZmqTransport.start({ selfId: ida, bind: "127.0.0.1", port: base, curve: { keys: ka, peerKeys } });
    open.push(a);
    const b = await ZmqTransport.start({ selfId: idb, bind: "127.0.0.1", port: base + 2, curve: { keys: kb, peerKeys } });
    open.push(b);
    const got: [string, string][] = [];
    b.onMessage((from, bytes) => got.push([from, Buffer.from(bytes).toString()]));
    expect(await pollUntil(() => (a.send(idb, enc("hello")), got.length > 0))).toBe(true);
    expect(got[0]).toEqual([ida, "hello"]);

    // Outsiders on b's data port: no keys at all, and a stranger's key pair (knowing b's public key).
    const stranger = curveKeyPair();
    const plain = new Dealer({ routingId: ida, linger: 0, sendTimeout: 0 });
    const outsider = new Dealer({ routingId: ida, linger: 0, sendTimeout: 0, curveServerKey: kb.publicKey, curvePublicKey: stranger.publicKey, curveSecretKey: stranger.secretKey });
    open.push(plain, outsider);
    plain.connect(`tcp://127.0.0.1:${base + 3}`);
    outsider.connect(`tcp://127.0.0.1:${base + 3}`);
    const before = got.length;
    for (let i = 0; i < 20; i++) {
      await plain.send(frameBatch([enc("forged-plain")])).catch(() => {});
      await outsider.send(frameBatch([enc("forged-outsider")])).catch(() => {});
      await sleep(20);
    }
    expect(await pollUntil(() => b.stats.zapDenied > 0)).toBe(true);
    await sleep(200);
    expect(got.slice(before).filter(([, m]) => m.startsWith("forged"))).toEqual([]);
  });

  it("a DEALER never talks to a process that does not hold the peer's secret key (an impostor on its port)", async () => {
    const base = await freePortBlock(4);
    const [ida, idb] = [`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`];
    const ka = generateKeyPair();
    const kb = generateKeyPair();
    const impostorKeys = generateKeyPair();
    const a = await ZmqTransport.start({ selfId: ida, bind: "127.0.0.1", port: base, curve: { keys: ka, peerKeys: new Map([[ida, ka.publicKey], [idb, kb.publicKey]]) } });
    open.push(a);
    // The impostor binds b's ports and even admits a's key, but has its own secret key.
    const impostor = await ZmqTransport.start({ selfId: idb, bind: "127.0.0.1", port: base + 2, curve: { keys: impostorKeys, peerKeys: new Map([[ida, ka.publicKey], [idb, impostorKeys.publicKey]]) } });
    open.push(impostor);
    const got: string[] = [];
    impostor.onMessage((_from, bytes) => got.push(Buffer.from(bytes).toString()));
    for (let i = 0; i < 20; i++) {
      a.send(idb, enc("secret replication traffic"));
      await sleep(20);
    }
    await sleep(300);
    expect(got).toEqual([]);
  });
});

describe("ZmqTransport with CURVE: routing ids are bound to keys", () => {
  it("a member that claims another member's routing id is dropped and counted", async () => {
    const base = await freePortBlock(4);
    const [ida, idb, idc] = [`127.0.0.1:${base}`, `127.0.0.1:${base + 2}`, "127.0.0.1:1"];
    const [ka, kb, kc] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const peerKeys = new Map([[ida, ka.publicKey], [idb, kb.publicKey], [idc, kc.publicKey]]);
    const a = await ZmqTransport.start({ selfId: ida, bind: "127.0.0.1", port: base, curve: { keys: ka, peerKeys } });
    open.push(a);
    const got: [string, string][] = [];
    a.onMessage((from, bytes) => got.push([from, Buffer.from(bytes).toString()]));
    // Member c connects with its own (admitted) key but claims to be b.
    const liar = new Dealer({ routingId: idb, linger: 0, sendTimeout: 0, curveServerKey: ka.publicKey, curvePublicKey: kc.publicKey, curveSecretKey: kc.secretKey });
    open.push(liar);
    liar.connect(`tcp://127.0.0.1:${base + 1}`);
    const cAuth = new PeerAuthenticator(idc, kc, peerKeys);
    for (let i = 0; i < 20 && a.stats.unauthenticated === 0; i++) {
      const frame = frameBatch([enc("as b")]);
      await liar.send([frame, cAuth.tag(ida, frame)]).catch(() => {});
      await sleep(30);
    }
    expect(a.stats.unauthenticated).toBeGreaterThan(0);
    expect(got).toEqual([]);
  });
});
