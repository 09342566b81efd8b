// What a write (PUT or DELETE) answers its client: the status, the X-Mec-Vclock to hand back,
// and the siblings the client is shown. One pure function, used by the HTTP adapter, the
// TypeScript client's reading of it, and the simulator's workload, so all three agree.
// Must not know: HTTP frameworks, the network, time.
//
// The rule: the clock handed back is always the stored set's clock after the write (the
// minting replica's set), so reusing it is safe only if the client was shown every value
// that clock covers. If the write left exactly one live sibling (the written value; for a
// delete: none, only tombstones), the answer is 200 (PUT) / 204 (DELETE) with that clock.
// Otherwise it answers like ?returnbody=true: 300 Multiple Choices with every live sibling
// and the set's clock. (Returning "context + dot" instead is unsafe: a version vector entry
// A:2 covers A:1, which may be a concurrent sibling the client never saw.)
import type { ClientResult } from "../core/types.ts";
import type { Sibling, VClock } from "../core/versioning/index.ts";
import { liveSiblings } from "../core/versioning/index.ts";

export type WriteOk = Extract<ClientResult, { ok: true; type: "put" | "delete" }>;

export interface WriteAnswer {
  /** 200 (PUT) / 204 (DELETE): nothing live but the written value; 300: siblings, like ?returnbody=true. */
  readonly status: 200 | 204 | 300;
  /** The X-Mec-Vclock to return: the stored set's clock, a context the client may write back. */
  readonly clock: VClock;
  /** The live siblings a 300 answer carries (empty for 200 / 204). */
  readonly siblings: readonly Sibling[];
  /** Every sibling the clock covers that the client is shown, tombstones included. */
  readonly shown: readonly Sibling[];
}

export function writeAnswer(result: WriteOk): WriteAnswer {
  const live = liveSiblings(result.set);
  const ownOnly = result.type === "put" ? live.length === 1 && live[0]!.dot.actor === result.dot.actor && live[0]!.dot.counter === result.dot.counter : live.length === 0;
  if (ownOnly) return { status: result.type === "put" ? 200 : 204, clock: result.set.clock, siblings: [], shown: result.set.siblings };
  return { status: 300, clock: result.set.clock, siblings: live, shown: result.set.siblings };
}
