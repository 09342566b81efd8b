// What a write (PUT or DELETE) answers its client: the status, the X-Mec-Vclock to hand back,
// and the siblings the client is shown. One pure function, used by the HTTP adapter, the
// TypeScript client's reading of it, and the simulator's workload, so all three agree.
// Must not know: HTTP frameworks, the network, time.
import type { ClientResult } from "../core/types.ts";
import type { Sibling, VClock } from "../core/versioning/index.ts";
import { emptyClock, merge } from "../core/versioning/index.ts";

export type WriteOk = Extract<ClientResult, { ok: true; type: "put" | "delete" }>;

export interface WriteAnswer {
  /** 200 (PUT) / 204 (DELETE): only the written value is live; 300: siblings, like ?returnbody=true. */
  readonly status: 200 | 204 | 300;
  /** The X-Mec-Vclock to return: a context the client may write back. */
  readonly clock: VClock;
  /** Every sibling the clock covers that the client is shown (tombstones included; HTTP sends the live ones). */
  readonly shown: readonly Sibling[];
}

/** The client's context plus the dot of its write (what this client has seen). */
export function writeAnswer(context: VClock | null, result: WriteOk): WriteAnswer {
  const stored = result.set.clock.get(result.dot.actor);
  const entry = { counter: result.dot.counter, timestamp: stored?.timestamp ?? 0n };
  const own = result.set.siblings.filter((s) => s.dot.actor === result.dot.actor && s.dot.counter === result.dot.counter);
  return { status: result.type === "delete" ? 204 : 200, clock: merge(context ?? emptyClock(), new Map([[result.dot.actor, entry]])), shown: own };
}
