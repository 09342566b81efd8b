// A stand-in system under test for the simulator's own tests: NOT a Dynamo node. Every node
// is a full replica (primaries = all members); a write is minted locally (dvvset update),
// stored, acknowledged with W=1 after the storage write completed, and pushed to the peers
// as msgpack bytes ("push", answered by "push-ack"). A get answers from local storage. It
// emits dot-minted and quorum events. Its actor is name + boot count read from a meta
// record, so a wiped node gets a fresh actor. Good enough to exercise scheduling, network,
// storage, crashes and determinism without the real node.
import { decode, encode } from "@msgpack/msgpack";
import type { Effect, NodeConfig, NodeMachine, Stamped, StorageOp } from "../../src/core/types.ts";
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import { decodeSiblingSet, emptyClock, emptySet, encodeSiblingSet, nanosFromMillis, setsEqual, sync, update } from "../../src/core/versioning/index.ts";
import type { SystemUnderTest } from "../../sim/sut.ts";

type Pending =
  | { kind: "boot-read" }
  | { kind: "boot-write" }
  | { kind: "scan" }
  | { kind: "write"; clientReqId: number | null; set: SiblingSet; dot: { actor: string; counter: number } | null; key: string; ack?: { to: string; reqId: string } }
  | { kind: "get"; clientReqId: number; key: string };

export function createStandinNode(config: NodeConfig): NodeMachine {
  let actor = "";
  let ready = false;
  let nextOp = 1;
  let nextReq = 1;
  const pending = new Map<number, Pending>();
  const memory = new Map<string, SiblingSet>();
  const objKey = (k: string): string => `o:${k}`;

  return {
    id: config.id,
    step({ now, input }: Stamped): Effect[] {
      const fx: Effect[] = [];
      const storage = (p: Pending, op: StorageOp): void => {
        const opId = nextOp++;
        pending.set(opId, p);
        fx.push({ kind: "storage", opId, op });
      };
      switch (input.kind) {
        case "start":
          storage({ kind: "boot-read" }, { type: "get", key: "m:meta" });
          break;
        case "client": {
          const op = input.op;
          if (!ready) {
            fx.push({ kind: "reply", clientReqId: input.clientReqId, result: { ok: false, type: op.type, error: "starting", message: "starting", answered: 0, needed: 1, maybeApplied: false } });
            break;
          }
          if (op.type === "get") {
            fx.push({ kind: "event", event: { type: "quorum", op: "get", reqId: `${actor}/${nextReq++}`, key: op.key, needed: 1, replicas: [config.id] } });
            fx.push({ kind: "reply", clientReqId: input.clientReqId, result: { ok: true, type: "get", set: memory.get(op.key) ?? null, replicas: [config.id] } });
          }
          else {
            const current = memory.get(op.key) ?? emptySet();
            const { set, dot } = update(current, op.context ?? emptyClock(), actor, { value: op.type === "put" ? op.value : null, contentType: "text/plain", timestamp: nanosFromMillis(now) });
            memory.set(op.key, set);
            fx.push({ kind: "event", event: { type: "dot-minted", key: op.key, actor, counter: dot.counter } });
            storage({ kind: "write", clientReqId: input.clientReqId, set, dot, key: op.key }, { type: "put", key: objKey(op.key), value: encodeSiblingSet(set) });
          }
          break;
        }
        case "message": {
          const msg = decode(input.bytes) as { type: string; reqId: string; key?: string; set?: Uint8Array };
          if (msg.type === "push" && msg.key !== undefined && msg.set !== undefined) {
            if (!ready) break;
            const merged = sync(memory.get(msg.key) ?? emptySet(), decodeSiblingSet(msg.set));
            memory.set(msg.key, merged);
            storage({ kind: "write", clientReqId: null, set: merged, dot: null, key: msg.key, ack: { to: input.from, reqId: msg.reqId } }, { type: "put", key: objKey(msg.key), value: encodeSiblingSet(merged) });
          }
          break;
        }
        case "timer":
          break;
        case "storage": {
          const p = pending.get(input.opId);
          pending.delete(input.opId);
          if (p === undefined) break;
          const res = input.result;
          switch (p.kind) {
            case "boot-read": {
              const boot = res.ok && res.value !== undefined ? Number(new TextDecoder().decode(res.value)) + 1 : 1;
              actor = `${config.name}.${boot}`;
              storage({ kind: "boot-write" }, { type: "put", key: "m:meta", value: new TextEncoder().encode(String(boot)) });
              break;
            }
            case "boot-write":
              storage({ kind: "scan" }, { type: "scan", prefix: "o:" });
              break;
            case "scan":
              for (const [k, v] of res.ok ? (res.entries ?? []) : []) memory.set(k.slice(2), decodeSiblingSet(v));
              ready = true;
              fx.push({ kind: "event", event: { type: "ready", actor, incarnation: 1 } });
              break;
            case "write": {
              if (p.ack !== undefined) {
                fx.push({ kind: "send", to: p.ack.to, bytes: encode({ type: "push-ack", reqId: p.ack.reqId }) });
                break;
              }
              if (p.clientReqId === null || p.dot === null) break;
              const reqId = `${actor}/${nextReq++}`;
              for (const peer of config.members) if (peer !== config.id) fx.push({ kind: "send", to: peer, bytes: encode({ type: "push", reqId, key: p.key, set: encodeSiblingSet(p.set) }) });
              fx.push({ kind: "event", event: { type: "quorum", op: p.set.siblings.find((s) => s.dot.counter === p.dot?.counter && s.dot.actor === p.dot.actor)?.value === null ? "delete" : "put", reqId, key: p.key, needed: 1, replicas: [config.id] } });
              fx.push({ kind: "reply", clientReqId: p.clientReqId, result: { ok: true, type: "put", set: p.set, dot: p.dot, replicas: [config.id] } });
              break;
            }
          }
          break;
        }
      }
      return fx;
    },
  };
}

export const standinSut: SystemUnderTest = {
  createNode: createStandinNode,
  describeMessage(bytes) {
    try {
      const m = decode(bytes) as { type?: unknown; reqId?: unknown };
      if (typeof m.type !== "string") return null;
      return { type: m.type, reqId: typeof m.reqId === "string" ? m.reqId : null, isReply: m.type.endsWith("-ack") || m.type.endsWith("-reply") };
    } catch {
      return null;
    }
  },
  readObjects(entries) {
    const out = new Map<string, SiblingSet>();
    for (const [k, v] of entries) if (k.startsWith("o:")) out.set(k.slice(2), decodeSiblingSet(v));
    return out;
  },
  primaries: (members) => [...members],
  ringOwners: (members, partitionCount) => Array.from({ length: partitionCount }, (_, i) => members[i % members.length]!),
  setsEqual,
};
