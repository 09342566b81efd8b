// What a write (PUT or DELETE) answers its client: the status, the X-Mec-Vclock to hand back
// (if any), and the siblings the client is shown. One pure function, used by the HTTP
// adapter, the TypeScript client's reading of it, and the simulator's workload, so all three
// agree. Must not know: HTTP frameworks, the network, time.
//
// The rule: every clock handed back must be safe to reuse, i.e. cover only values the client
// was shown (or that are gone for good). The stored set's clock after the write covers every
// sibling the set holds. So:
// - the write left exactly one live sibling (the written value; for a delete: none, only
//   tombstones): 200 (PUT) / 204 (DELETE) with the stored set's clock;
// - it left concurrent siblings the client has not been shown: 200 / 204 with NO clock and
//   the number of live siblings (X-Mec-Siblings). Reusing nothing is a blind write, which
//   can remove nothing; a client that wants to resolve the siblings reads them (GET, or
//   `?returnbody=true` on the write, which answers 300 with every sibling and the set's
//   clock: then it has been shown them).
// Returning "context + dot" is unsafe: a version vector entry A:2 covers A:1, which may be a
// concurrent sibling minted by the same actor that the client never saw. Returning the set's
// clock without showing the siblings is unsafe for the same reason.
import type { ClientResult } from "../core/types.ts";
import type { Sibling, VClock } from "../core/versioning/index.ts";
import { liveSiblings } from "../core/versioning/index.ts";

type WriteOk = Extract<ClientResult, { ok: true; type: "put" | "delete" }>;

interface WriteAnswer {
  /** 200 (PUT) / 204 (DELETE). */
  readonly status: 200 | 204;
  /** The X-Mec-Vclock to return (the stored set's clock), or null when the write left siblings the client was not shown. */
  readonly clock: VClock | null;
  /** Live siblings of the key after the write (X-Mec-Siblings). */
  readonly liveSiblings: number;
  /** Every sibling the returned clock covers that the client is shown, tombstones included (empty without a clock). */
  readonly shown: readonly Sibling[];
}

export function writeAnswer(result: WriteOk): WriteAnswer {
  const live = liveSiblings(result.set);
  const status = result.type === "put" ? 200 : 204;
  const ownOnly =
    result.type === "put"
      ? live.length === 1 && live[0]!.dot.actor === result.dot.actor && live[0]!.dot.counter === result.dot.counter
      : live.length === 0;
  if (ownOnly) return { status, clock: result.set.clock, liveSiblings: live.length, shown: result.set.siblings };
  return { status, clock: null, liveSiblings: live.length, shown: [] };
}
