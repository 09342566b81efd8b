// Which process of each peer is the current one. Owns: the boot id (8 hex digits, drawn anew
// on every start of a node) last learned for each peer, from its heartbeats (which name it),
// the request ids it sends (`${id}/${boot}/${seq}`) and its put-replies. A forwarded client write is addressed to
// one boot of its minting replica (see coordinator/put.ts), so a boot learned here decides
// where writes may be applied, never whether they are safe: a wrong guess only costs a retry
// or an unknown outcome.
// Must not know: messages, timing.
//
// A late message from a peer's earlier process must not make us address its earlier process
// again, so a boot that was replaced is remembered as retired (a few per peer) and ignored.
import type { NodeId } from "../types.ts";

/** Retired boots remembered per peer (more than a peer restarts while one of its messages is in flight). */
const RETIRED_MAX = 32;

export class PeerBoots {
  private readonly current = new Map<NodeId, string>();
  private readonly retired = new Map<NodeId, string[]>();

  get(peer: NodeId): string | null {
    return this.current.get(peer) ?? null;
  }

  /** A message from `peer`'s process `boot` arrived. */
  learn(peer: NodeId, boot: string): void {
    const now = this.current.get(peer);
    if (now === boot) return;
    const retired = this.retired.get(peer) ?? [];
    if (retired.includes(boot)) return; // a late message from an earlier process
    if (now !== undefined) {
      retired.push(now);
      if (retired.length > RETIRED_MAX) retired.shift();
      this.retired.set(peer, retired);
    }
    this.current.set(peer, boot);
  }

  /**
   * The peer's heartbeat names its boot: taken as current even if it was retired, so no
   * message can make us address a process that is not the peer's for longer than a heartbeat
   * interval (a late heartbeat of an earlier process costs the same, once).
   */
  announced(peer: NodeId, boot: string): void {
    const retired = this.retired.get(peer);
    const at = retired?.indexOf(boot) ?? -1;
    if (retired !== undefined && at >= 0) retired.splice(at, 1);
    this.learn(peer, boot);
  }
}
