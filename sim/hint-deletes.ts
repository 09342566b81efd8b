// Hint deletions seen from outside: whenever a node's storage deletes a hint record, the
// simulator notes what the hint held (decoded by the binding's record codec) and what the
// hint's target had stored for that key at that moment. The hints-drain checker then asks,
// with the oracle's own set model, whether the target's copy knew everything the hint held:
// a fallback may drop a hint only once its primary has what it held (hinted handoff), so a
// hint deleted while a newer write that merged into it never reached the target is a copy lost.
// The log also notes what the deleting node itself stored as its object for the key: a hint
// for a member that departed for good can never be delivered, and the holder may drop it once
// its own object holds what the hint held (it adopted the hint).
import type { NodeId } from "../src/core/types.ts";
import type { SiblingSet } from "../src/core/versioning/types.ts";
import type { SimProcess } from "./process.ts";
import type { SystemUnderTest } from "./sut.ts";

export interface HintDeleteRecord {
  readonly atMs: number;
  /** The node that deleted the hint. */
  readonly node: NodeId;
  readonly target: NodeId;
  readonly key: string;
  /** What the deleted hint held; null when its record did not verify (a corrupt hint is discarded). */
  readonly hint: SiblingSet | null;
  /** What the target had stored for the key then (null: nothing, or an unreadable record). */
  readonly targetHeld: SiblingSet | null;
  /**
   * The hints of the key the target itself held then, for other nodes: a target that is no
   * longer a primary of the key (the ring moved) keeps what it is handed as hints for the new
   * primaries, durably, and drops its own object.
   */
  readonly targetHinted?: readonly SiblingSet[];
  /** What the deleting node itself had stored as its object for the key then. */
  readonly holderHeld?: SiblingSet | null;
}

export class HintDeleteLog {
  readonly deletes: HintDeleteRecord[] = [];

  constructor(
    private readonly sut: SystemUnderTest,
    private readonly processOf: (id: NodeId) => SimProcess | undefined,
    private readonly now: () => number,
    private readonly nodes: () => Iterable<NodeId>,
  ) {}

  /** Watches one node's storage (a no-op when the binding cannot read hints). */
  watch(node: NodeId, process: SimProcess): void {
    if (this.sut.readHint === undefined || this.sut.objectPrefix === undefined) return;
    process.storage.onDelete = (storageKey, removed) => this.onDelete(node, storageKey, removed);
  }

  private onDelete(node: NodeId, storageKey: string, removed: Uint8Array): void {
    const h = this.sut.readHint!(storageKey, removed);
    if (h === null) return;
    const objectOf = (id: NodeId): SiblingSet | null => {
      const p = this.processOf(id);
      return p === undefined ? null : (this.sut.readObjects(p.storage.withPrefix(this.sut.objectPrefix!(h.partition))).get(h.key) ?? null);
    };
    this.deletes.push({ atMs: this.now(), node, target: h.target, key: h.key, hint: h.set, targetHeld: objectOf(h.target), targetHinted: this.hintsHeld(h.target, h.partition, h.key), holderHeld: objectOf(node) });
  }

  /** The readable hints of one key that `holder` stores for any other node. */
  private hintsHeld(holder: NodeId, partition: number, key: string): SiblingSet[] {
    const p = this.processOf(holder);
    if (p === undefined || this.sut.hintKey === undefined) return [];
    const out: SiblingSet[] = [];
    for (const target of this.nodes()) {
      if (target === holder) continue;
      const storageKey = this.sut.hintKey(target, partition, key);
      const bytes = p.storage.peek(storageKey);
      const set = bytes === undefined ? null : (this.sut.readHint!(storageKey, bytes)?.set ?? null);
      if (set !== null) out.push(set);
    }
    return out;
  }
}
