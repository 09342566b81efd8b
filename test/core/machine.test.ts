// The node machine driven by hand, input by input (no host): boot order and exact effects.
import { describe, expect, it } from "vitest";
import { createNode } from "../../src/core/node.ts";
import type { Effect, Input, NodeMachine } from "../../src/core/types.ts";
import { decodeMessage, encodeMessage } from "../../src/core/messages.ts";
import type { PeerMessage } from "../../src/core/messages.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import { META_KEY } from "../../src/core/replica/keys.ts";
import { decodeSiblingSet, emptyClock, emptySet, encodeSiblingSet, update } from "../../src/core/versioning/index.ts";
import { applyStorage, baseConfig, storedSet, T0 } from "./harness.ts";

const members = ["n1", "n2", "n3", "n4"];

/** Runs one input, then completes every storage effect synchronously (recursively), collecting all effects. */
function drive(node: NodeMachine, store: Map<string, Uint8Array>, input: Input, now = T0, deferStorage = false): { effects: Effect[]; deferred: Effect[] } {
  const all: Effect[] = [];
  const deferred: Effect[] = [];
  const queue: Input[] = [input];
  while (queue.length > 0) {
    const next = queue.shift() as Input;
    for (const e of node.step({ now, monotonic: now, input: next })) {
      all.push(e);
      if (e.kind === "storage") {
        if (deferStorage) deferred.push(e);
        else queue.push({ kind: "storage", opId: e.opId, result: applyStorage(store, e.op) });
      }
    }
  }
  return { effects: all, deferred };
}

function sentMessages(effects: Effect[]): PeerMessage[] {
  return effects.flatMap((e) => (e.kind === "send" ? [decodeMessage(e.bytes)] : []));
}

describe("node machine", () => {
  it("writes a new incarnation, synced, before it is ready, on every start", () => {
    const store = new Map<string, Uint8Array>();
    const kindsOf = (effects: Effect[]) => effects.map((e) => (e.kind === "storage" ? `storage:${e.op.type}` : e.kind === "event" ? `event:${e.event.type}` : e.kind));
    const metaWrite = (effects: Effect[]) => effects.find((e) => e.kind === "storage" && e.op.type === "put" && e.op.key === META_KEY);
    const incarnation = (effects: Effect[]) => {
      const e = effects.find((x) => x.kind === "event" && x.event.type === "ready");
      return e?.kind === "event" && e.event.type === "ready" ? e.event.incarnation : -1;
    };
    const a = drive(createNode(baseConfig("n1", members)), store, { kind: "start" });
    expect(kindsOf(a.effects).indexOf("storage:put")).toBeLessThan(kindsOf(a.effects).indexOf("event:ready"));
    expect(metaWrite(a.effects)).toMatchObject({ op: { sync: true } });
    // Same config, same disk: a start that follows any run (clean stop or not) is a new incarnation.
    const b = drive(createNode(baseConfig("n1", members)), store, { kind: "start" }, T0 + 5000);
    expect(metaWrite(b.effects)).toMatchObject({ op: { sync: true } });
    expect(kindsOf(b.effects).indexOf("storage:put")).toBeLessThan(kindsOf(b.effects).indexOf("event:ready"));
    expect(incarnation(b.effects)).toBe((incarnation(a.effects) + 1) >>> 0);
  });

  it("a forward refused while starting is never applied later, even if duplicated", () => {
    const store = new Map<string, Uint8Array>();
    const ring = createRing(members, 16);
    let key = "";
    for (let i = 0; ; i++) {
      key = `k${i}`;
      if (preferenceList(ring, partitionOf(key, 16), 3).primaries[0] === "n1") break;
    }
    const node = createNode(baseConfig("n1", members));
    const boot = drive(node, store, { kind: "start" }, T0, true);
    const unaddressed: PeerMessage = {
      type: "put", reqId: "n4/00000001/0", from: "n4", op: "put", partition: partitionOf(key, 16), key,
      value: new TextEncoder().encode("v"), contentType: "text/plain", context: null, w: 2, clientId: null, toBoot: null,
    };
    // A forward addressed to no boot is refused (nothing applied) with the replica's boot.
    const probe = sentMessages(drive(node, store, { kind: "message", from: "n4", bytes: encodeMessage(unaddressed) }).effects);
    expect(probe).toMatchObject([{ type: "put-reply", result: { ok: false, error: "unavailable", maybeApplied: false } }]);
    const bootId = (probe[0] as Extract<PeerMessage, { type: "put-reply" }>).boot;
    const fwd: PeerMessage = { ...unaddressed, reqId: "n4/00000001/1", toBoot: bootId };
    const bytes = encodeMessage(fwd);
    const early = drive(node, store, { kind: "message", from: "n4", bytes });
    expect(sentMessages(early.effects)).toMatchObject([{ type: "put-reply", reqId: fwd.reqId, result: { ok: false, error: "starting" } }]);
    // Finish booting.
    for (const e of boot.deferred) if (e.kind === "storage") drive(node, store, { kind: "storage", opId: e.opId, result: applyStorage(store, e.op) });
    const late = drive(node, store, { kind: "message", from: "n4", bytes }, T0 + 10);
    expect(sentMessages(late.effects)).toMatchObject([{ type: "put-reply", result: { ok: false, error: "starting" } }]);
    expect([...store.keys()].some((k) => k.startsWith("o:"))).toBe(false);
  });

  it("a duplicate forward that reaches a later process of the minting replica is never applied again", () => {
    const store = new Map<string, Uint8Array>();
    const ring = createRing(members, 16);
    let key = "";
    for (let i = 0; ; i++) {
      key = `k${i}`;
      if (preferenceList(ring, partitionOf(key, 16), 3).primaries[0] === "n1") break;
    }
    const mints = (effects: Effect[]) => effects.filter((e) => e.kind === "event" && e.event.type === "dot-minted").length;
    const first = createNode(baseConfig("n1", members));
    drive(first, store, { kind: "start" });
    const unaddressed: PeerMessage = {
      type: "put", reqId: "n4/00000001/0", from: "n4", op: "put", partition: partitionOf(key, 16), key,
      value: new TextEncoder().encode("v"), contentType: "text/plain", context: null, w: 1, clientId: null, toBoot: null,
    };
    const probe = drive(first, store, { kind: "message", from: "n4", bytes: encodeMessage(unaddressed) }, T0 + 1);
    expect(mints(probe.effects)).toBe(0);
    const bootId = (sentMessages(probe.effects)[0] as Extract<PeerMessage, { type: "put-reply" }>).boot;
    const bytes = encodeMessage({ ...unaddressed, reqId: "n4/00000001/1", toBoot: bootId });
    expect(mints(drive(first, store, { kind: "message", from: "n4", bytes }, T0 + 2).effects)).toBe(1);
    expect(mints(drive(first, store, { kind: "message", from: "n4", bytes }, T0 + 3).effects)).toBe(0); // same process: deduplicated
    // The process restarts (its memory is gone) and the duplicate arrives late.
    const second = createNode(baseConfig("n1", members));
    drive(second, store, { kind: "start" }, T0 + 4);
    const late = drive(second, store, { kind: "message", from: "n4", bytes }, T0 + 5);
    expect(mints(late.effects)).toBe(0);
    expect(sentMessages(late.effects)).toMatchObject([{ type: "put-reply", result: { ok: false, maybeApplied: true } }]);
  });

  it("a forward misaddressed because of a late message from the replica's earlier process is re-sent to the process it had heard from before", () => {
    const ring = createRing(members, 16);
    let key = "";
    for (let i = 0; ; i++) {
      key = `k${i}`;
      const p = preferenceList(ring, partitionOf(key, 16), 3).primaries;
      if (p[0] === "n1" && !p.includes("n4")) break;
    }
    const probeFrom = (boot: string, seq: number): Input => ({ kind: "message", from: "n1", bytes: encodeMessage({ type: "probe", reqId: `n1/${boot}/${seq}`, from: "n1" }) });
    const refusal = (reqId: string, boot: string): Input => ({
      kind: "message", from: "n1",
      bytes: encodeMessage({ type: "put-reply", reqId, from: "n1", boot, result: { ok: false, error: "quorum", message: "the minting replica restarted", answered: 0, needed: 2, maybeApplied: true } }),
    });
    const put: Input = { kind: "client", clientReqId: 1, op: { type: "put", key, value: new TextEncoder().encode("v"), contentType: "text/plain", context: null } };
    const forwards = (effects: Effect[]) => sentMessages(effects).filter((m): m is Extract<PeerMessage, { type: "put" }> => m.type === "put");
    const replies = (effects: Effect[]) => effects.filter((e) => e.kind === "reply");

    // n4 hears n1's current process (0000000b), then a late message of an earlier one (0000000a).
    const node = createNode(baseConfig("n4", members));
    const store = new Map<string, Uint8Array>();
    drive(node, store, { kind: "start" });
    drive(node, store, probeFrom("0000000b", 3), T0 + 1);
    drive(node, store, probeFrom("0000000a", 90), T0 + 2);
    const sent = forwards(drive(node, store, put, T0 + 3).effects);
    expect(sent).toMatchObject([{ toBoot: "0000000a" }]);
    // The current process refuses it ("may have been applied", from its point of view); it was
    // running before the forward was sent, so nothing else can have applied it: re-sent, addressed.
    const retry = drive(node, store, refusal(sent[0]!.reqId, "0000000b"), T0 + 4).effects;
    expect(replies(retry)).toEqual([]);
    expect(forwards(retry)).toMatchObject([{ toBoot: "0000000b" }]);
    expect(forwards(retry)[0]!.reqId).not.toBe(sent[0]!.reqId);

    // A refusal by a process first heard in that very reply proves nothing: the client hears "unknown".
    const other = createNode(baseConfig("n4", members));
    drive(other, new Map(), { kind: "start" });
    drive(other, new Map(), probeFrom("0000000a", 90), T0 + 2);
    const first = forwards(drive(other, new Map(), put, T0 + 3).effects);
    const answer = drive(other, new Map(), refusal(first[0]!.reqId, "0000000c"), T0 + 4).effects;
    expect(forwards(answer)).toEqual([]);
    expect(replies(answer)).toMatchObject([{ result: { ok: false, maybeApplied: true } }]);
  });

  it("a replicated set holding one of its dots with another value is refused, logged and counted, never merged", () => {
    const store = new Map<string, Uint8Array>();
    const ring = createRing(members, 16);
    let key = "";
    for (let i = 0; ; i++) {
      key = `k${i}`;
      if (preferenceList(ring, partitionOf(key, 16), 3).primaries.includes("n1")) break;
    }
    const node = createNode(baseConfig("n1", members));
    drive(node, store, { kind: "start" });
    const setOf = (value: string, ts: bigint) => encodeSiblingSet(update(emptySet(), emptyClock(), "n2.00000001", { value: new TextEncoder().encode(value), contentType: "text/plain", timestamp: ts }).set);
    const replicate = (reqId: string, set: Uint8Array): PeerMessage => ({ type: "replicate", reqId, from: "n2", partition: partitionOf(key, 16), key, set, hint: null });
    const first = drive(node, store, { kind: "message", from: "n2", bytes: encodeMessage(replicate("n2/00000001/0", setOf("acknowledged", 1n))) }, T0 + 1);
    expect(sentMessages(first.effects)).toMatchObject([{ type: "replicate-ack" }]);
    const second = drive(node, store, { kind: "message", from: "n2", bytes: encodeMessage(replicate("n2/00000001/1", setOf("re-minted", 2n))) }, T0 + 2);
    expect(sentMessages(second.effects)).toEqual([]); // no ack: the coordinator cannot count it
    expect(second.effects.some((e) => e.kind === "event" && e.event.type === "dot-conflict")).toBe(true);
    expect(second.effects.some((e) => e.kind === "log" && e.level === "error")).toBe(true);
    const stored = storedSet(store.get([...store.keys()].find((k) => k.startsWith("o:"))!)!);
    expect(stored.siblings.map((x) => new TextDecoder().decode(x.value!))).toEqual(["acknowledged"]);
  });

  it("drops messages from unknown senders and with a key outside their partition", () => {
    const store = new Map<string, Uint8Array>();
    const node = createNode(baseConfig("n1", members));
    drive(node, store, { kind: "start" });
    const stranger = drive(node, store, { kind: "message", from: "x", bytes: encodeMessage({ type: "get", reqId: "r", from: "x", partition: 0, key: "k" }) });
    expect(sentMessages(stranger.effects)).toEqual([]);
    const wrong = (partitionOf("k", 16) + 1) % 16;
    const misrouted = drive(node, store, { kind: "message", from: "n2", bytes: encodeMessage({ type: "get", reqId: "r", from: "n2", partition: wrong, key: "k" }) });
    expect(sentMessages(misrouted.effects)).toEqual([]);
    const fine = drive(node, store, { kind: "message", from: "n2", bytes: encodeMessage({ type: "get", reqId: "n2/0/1", from: "n2", partition: partitionOf("k", 16), key: "k" }) });
    expect(sentMessages(fine.effects)).toMatchObject([{ type: "get-reply", reqId: "n2/0/1", from: "n1", set: null }]);
  });
});
