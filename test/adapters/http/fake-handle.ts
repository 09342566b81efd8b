// A fake NodeApiHandle for the HTTP API tests: one in-memory map of sibling sets, written
// with the real versioning functions (applyWrite) so contexts, siblings and tombstones behave
// as in the node. Writes are minted by `actor` (switch it to fake concurrent coordinators);
// `failNext` makes the next request answer an error result.
import type { ClientOp, ClientResult } from "../../../src/core/types.ts";
import type { SiblingSet, VersioningMode } from "../../../src/core/versioning/index.ts";
import { applyWrite, emptyClock, emptySet } from "../../../src/core/versioning/index.ts";
import type { NodeApiHandle, NodeApiLimits, NodeHealth } from "../../../src/adapters/http/handle.ts";

export class FakeHandle implements NodeApiHandle {
  readonly nodeId = "127.0.0.1:7000";
  readonly name = "fake";
  readonly store = new Map<string, SiblingSet>();
  readonly ops: ClientOp[] = [];
  actor = "fake.1";
  mode: VersioningMode = "dvv";
  ready = true;
  /** Nanoseconds; each write advances it by one second. */
  timestampNs = 1_390_002_508_437_355_039n;
  failNext: Extract<ClientResult, { ok: false }> | null = null;
  throwNext = false;

  constructor(readonly limits: NodeApiLimits = { n: 3, r: 2, w: 2, maxBodyBytes: 64 * 1024, maxKeyBytes: 64 }) {}

  isReady(): boolean {
    return this.ready;
  }

  health(): NodeHealth {
    return { status: this.ready ? "ok" : "starting", actor: this.ready ? this.actor : null };
  }

  async request(op: ClientOp): Promise<ClientResult> {
    this.ops.push(op);
    await Promise.resolve();
    if (this.throwNext) {
      this.throwNext = false;
      throw new Error("fake handle exploded");
    }
    if (this.failNext !== null) {
      const f = this.failNext;
      this.failNext = null;
      return { ...f, type: op.type };
    }
    if (op.type === "get") return { ok: true, type: "get", set: this.store.get(op.key) ?? null, replicas: [this.nodeId] };
    this.timestampNs += 1_000_000_000n;
    const before = this.store.get(op.key) ?? emptySet();
    const write =
      op.type === "put"
        ? { value: op.value.slice(), contentType: op.contentType, timestamp: this.timestampNs }
        : { value: null, contentType: "", timestamp: this.timestampNs };
    const { set, dot } = applyWrite(this.mode, before, op.context ?? emptyClock(), this.actor, write);
    this.store.set(op.key, set);
    return { ok: true, type: op.type, set, dot, replicas: [this.nodeId] };
  }
}
