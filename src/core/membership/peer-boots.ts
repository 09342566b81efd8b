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
// But a late message from an earlier process we never heard of (we restarted meanwhile) looks
// new and retires the real current boot; so what only the current process can send is taken
// as current even if it was retired (announced): its heartbeat, and a put-reply (it answers a
// forward this process sent, so its sender was alive after we sent it).
//
// Each boot also gets a mark when first heard (a counter, not a time): a coordinator whose
// forward was refused by a process it had heard before sending knows no other process of
// that node can have received the forward (one process at a time), see coordinator/put.ts.
import type { NodeId } from "../types.ts";

/** Retired boots remembered per peer (more than a peer restarts while one of its messages is in flight). */
const RETIRED_MAX = 32;

export class PeerBoots {
  private readonly current = new Map<NodeId, string>();
  private readonly retired = new Map<NodeId, string[]>();
  /** Per peer, the mark at which each recent boot was first heard. */
  private readonly firstHeard = new Map<NodeId, Map<string, number>>();
  private heard = 0;

  get(peer: NodeId): string | null {
    return this.current.get(peer) ?? null;
  }

  /** Grows whenever a boot is heard for the first time. */
  get mark(): number {
    return this.heard;
  }

  /** Whether `peer`'s boot had been heard when the mark was `mark`. */
  heardBy(peer: NodeId, boot: string, mark: number): boolean {
    const at = this.firstHeard.get(peer)?.get(boot);
    return at !== undefined && at <= mark;
  }

  /** A message from `peer`'s process `boot` arrived. */
  learn(peer: NodeId, boot: string): void {
    this.noteHeard(peer, boot);
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
   * The peer's heartbeat or put-reply names its boot: taken as current even if it was retired,
   * so no message can make us address a process that is not the peer's for longer than a
   * heartbeat interval (a late heartbeat of an earlier process costs the same, once).
   */
  announced(peer: NodeId, boot: string): void {
    const retired = this.retired.get(peer);
    const at = retired?.indexOf(boot) ?? -1;
    if (retired !== undefined && at >= 0) retired.splice(at, 1);
    this.learn(peer, boot);
  }

  private noteHeard(peer: NodeId, boot: string): void {
    const seen = this.firstHeard.get(peer) ?? new Map<string, number>();
    if (seen.has(boot)) return;
    seen.set(boot, ++this.heard);
    if (seen.size > RETIRED_MAX + 1) seen.delete(seen.keys().next().value!);
    this.firstHeard.set(peer, seen);
  }
}
