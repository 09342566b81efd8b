// The node machine driven by hand, input by input (no host): boot order and exact effects.
import { describe, expect, it } from "vitest";
import { createNode } from "../../src/core/node.ts";
import type { Effect, Input, NodeMachine } from "../../src/core/types.ts";
import { decodeMessage, encodeMessage } from "../../src/core/messages.ts";
import type { PeerMessage } from "../../src/core/messages.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import { META_KEY } from "../../src/core/replica/keys.ts";
import { applyStorage, baseConfig, T0 } from "./harness.ts";

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
  it("writes the meta record before it is ready, and reuses it on the next boot", () => {
    const store = new Map<string, Uint8Array>();
    const a = drive(createNode(baseConfig("n1", members)), store, { kind: "start" });
    const kinds = a.effects.map((e) => (e.kind === "storage" ? `storage:${e.op.type}` : e.kind === "event" ? `event:${e.event.type}` : e.kind));
    expect(kinds.indexOf("storage:put")).toBeLessThan(kinds.indexOf("event:ready"));
    expect(store.has(META_KEY)).toBe(true);
    const ready = (effects: Effect[]) => effects.find((e) => e.kind === "event" && e.event.type === "ready");
    const b = drive(createNode(baseConfig("n1", members)), store, { kind: "start" }, T0 + 5000);
    expect(JSON.stringify(ready(b.effects))).toBe(JSON.stringify(ready(a.effects)));
    expect(b.effects.some((e) => e.kind === "storage" && e.op.type === "put")).toBe(false);
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
    const fwd: PeerMessage = {
      type: "put", reqId: "n4/00000001/0", from: "n4", op: "put", partition: partitionOf(key, 16), key,
      value: new TextEncoder().encode("v"), contentType: "text/plain", context: null, w: 2, clientId: null,
    };
    const bytes = encodeMessage(fwd);
    const early = drive(node, store, { kind: "message", from: "n4", bytes });
    expect(sentMessages(early.effects)).toMatchObject([{ type: "put-reply", reqId: fwd.reqId, result: { ok: false, error: "starting" } }]);
    // Finish booting.
    for (const e of boot.deferred) if (e.kind === "storage") drive(node, store, { kind: "storage", opId: e.opId, result: applyStorage(store, e.op) });
    const late = drive(node, store, { kind: "message", from: "n4", bytes }, T0 + 10);
    expect(sentMessages(late.effects)).toMatchObject([{ type: "put-reply", result: { ok: false, error: "starting" } }]);
    expect([...store.keys()].some((k) => k.startsWith("o:"))).toBe(false);
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
