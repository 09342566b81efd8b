// A client write is applied at most once, across restarts of the minting replica and however
// late a duplicate of its forward arrives. Real processes, real LevelDB, real ZeroMQ with CURVE:
// the test stops node-1 and takes its place (its CURVE key pair from the key file the harness
// wrote, its routing id, the per-message tag of peer-auth.ts, and a ROUTER on its data port, so
// node-2's put-replies to "node-1" come to the test). As node-1 it forwards a client write to
// node-2: first unaddressed (refused, and the refusal names node-2's boot), then addressed to that
// boot (applied once). Then node-2 restarts on the same root and the very same forward bytes
// arrive again: the new process refuses them as maybe-applied, the key keeps one value and the
// same clock (no second dot), and node-2 keeps serving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Dealer, Router } from "zeromq";
import { readKeyFile } from "../../src/adapters/curve-keys.ts";
import { PeerAuthenticator } from "../../src/adapters/peer-auth.ts";
import { frameBatch, unframeBatch } from "../../src/adapters/zmq-transport.ts";
import { MecClient, MecError } from "../../src/client/index.ts";
import { decodeMessage, encodeMessage, type PeerMessage } from "../../src/core/messages.ts";
import { partitionOf } from "../../src/core/ring/index.ts";
import { TEST_TOML, startTestCluster, type TestCluster } from "./harness.ts";

type PutReply = Extract<PeerMessage, { type: "put-reply" }>;
type Forward = Extract<PeerMessage, { type: "put" }>;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The impersonated member's data-port ROUTER: collects the put-replies sent to it. */
class ReplyInbox {
  private readonly replies: PutReply[] = [];
  private readonly waiters: (() => void)[] = [];

  constructor(private readonly router: Router) {
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      for await (const [, payload] of this.router) {
        for (const bytes of (payload === undefined ? null : unframeBatch(payload)) ?? []) {
          let msg: PeerMessage;
          try {
            msg = decodeMessage(bytes);
          } catch {
            continue;
          }
          if (msg.type !== "put-reply") continue;
          this.replies.push(msg);
          for (const wake of this.waiters.splice(0)) wake();
        }
      }
    } catch {
      // closed
    }
  }

  /** The first put-reply to `reqId` sent by the process `notBoot` is not (bounded wait). */
  async next(reqId: string, ms: number, notBoot: string | null = null): Promise<PutReply> {
    const until = Date.now() + ms;
    for (;;) {
      const found = this.replies.find((r) => r.reqId === reqId && r.boot !== notBoot);
      if (found !== undefined) return found;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no put-reply to ${reqId} within ${ms} ms (got ${JSON.stringify(this.replies.map((r) => [r.reqId, r.boot, r.result.ok]))})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

describe("a forwarded client write is applied at most once (real processes, CURVE)", () => {
  let cluster: TestCluster;
  const partitions = TEST_TOML.partitions as number;

  beforeAll(async () => {
    cluster = await startTestCluster(3, TEST_TOML, { curve: true });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
  });

  it("a late duplicate of a forward, arriving after the minting replica restarted, is refused as maybe-applied and applies nothing", async () => {
    const [n1, n2, n3] = [cluster.node(0), cluster.node(1), cluster.node(2)];
    const n1Keys = readKeyFile(n1.spec.keyPath);
    const n2Public = readKeyFile(n2.spec.keyPath).publicKey;
    const auth = new PeerAuthenticator(n1.id, n1Keys, new Map([[n2.id, n2Public]]));

    // Take node-1's place: stop it, bind its data port as a CURVE server with its key pair.
    expect(await n1.kill("SIGTERM")).toEqual({ code: 0, signal: null });
    const router = new Router({ linger: 0, curveServer: true, curveSecretKey: n1Keys.secretKey });
    await router.bind(`tcp://127.0.0.1:${n1.spec.port + 1}`);
    const inbox = new ReplyInbox(router);
    const dealerToN2 = (): Dealer => {
      const d = new Dealer({ routingId: n1.id, linger: 0, sendTimeout: 0, curveServerKey: n2Public, curvePublicKey: n1Keys.publicKey, curveSecretKey: n1Keys.secretKey });
      d.connect(`tcp://127.0.0.1:${n2.spec.port + 1}`);
      return d;
    };
    /** The exact zmq frames node-1 would send: [batch, tag]. */
    const framesOf = (msg: PeerMessage): [Buffer, Buffer] => {
      const frame = frameBatch([encodeMessage(msg)]);
      return [frame, auth.tag(n2.id, frame)];
    };
    const key = "replayed-forward";
    const forward = (seq: number, toBoot: string | null): Forward => ({
      type: "put", reqId: `${n1.id}/0000beef/${seq}`, from: n1.id, op: "put", partition: partitionOf(key, partitions), key,
      value: enc("once"), contentType: "text/plain", context: null, w: 2, clientId: null, toBoot,
    });

    let dealer = dealerToN2();
    try {
      // 1. Unaddressed: refused, applied nothing; the refusal names node-2's boot.
      const unaddressed = forward(1, null);
      await dealer.send(framesOf(unaddressed));
      const refusal = await inbox.next(unaddressed.reqId, 10_000);
      expect(refusal.result).toMatchObject({ ok: false, maybeApplied: false });
      const boot = refusal.boot;
      expect(boot).toMatch(/^[0-9a-f]{8}$/);

      // 2. Addressed to that boot: applied, once.
      const addressed = forward(2, boot);
      const bytes = framesOf(addressed);
      await dealer.send(bytes);
      const applied = await inbox.next(addressed.reqId, 10_000);
      expect(applied.boot).toBe(boot);
      expect(applied.result.ok).toBe(true);
      const db3 = new MecClient(n3.url, { timeoutMs: 8000 });
      const before = await db3.get(key);
      expect(before.status).toBe("ok");
      expect(before.siblings.map((s) => dec(s.value))).toEqual(["once"]);
      expect(before.vclock).not.toBeNull();

      // 3. node-2 restarts on the same root (SIGTERM, start again).
      dealer.close();
      expect(await n2.kill("SIGTERM")).toEqual({ code: 0, signal: null });
      n2.start();
      await n2.waitReady();

      // 4. The very same forward bytes arrive again, late: the new process refuses them.
      dealer = dealerToN2();
      await dealer.send(bytes);
      const late = await inbox.next(addressed.reqId, 10_000, boot);
      expect(late.boot).not.toBe(boot);

      // Still exactly one value, under the same clock (no second dot), through node-3 and node-2.
      const db2 = new MecClient(n2.url, { timeoutMs: 8000 });
      for (const db of [db3, db2]) {
        // Right after the restart a peer may not have reconnected yet: retry a quorum miss (bounded).
        const after = await getOnceQuorate(db, key, 20_000);
        expect(after.siblings.map((s) => dec(s.value))).toEqual(["once"]);
        expect(after.status).toBe("ok");
        expect(after.vclock).toBe(before.vclock);
      }
      expect(late.result).toMatchObject({ ok: false, error: "quorum", maybeApplied: true });
      // node-2 keeps serving: it coordinates a new write and reads it back.
      await db2.put("after-replay", "fine", { contentType: "text/plain" });
      expect((await db3.get("after-replay")).siblings.map((s) => dec(s.value))).toEqual(["fine"]);
    } finally {
      dealer.close();
      router.close();
    }
  }, 30_000);
});

/** A GET, retried while it misses its quorum (a peer still reconnecting), until deadlineMs passes. */
async function getOnceQuorate(db: MecClient, key: string, deadlineMs: number): Promise<Awaited<ReturnType<MecClient["get"]>>> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await db.get(key);
    } catch (e) {
      const quorumMiss = e instanceof MecError && e.code === "quorum";
      if (!quorumMiss || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
