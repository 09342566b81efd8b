// Shedding after cut-over (Riak deletes a vnode's data once its handoff finished). Owns: finding
// the objects this node still stores for partitions it no longer serves (it lost them to a
// membership change, or a late write reached it after cut-over) and turning each into hints
// for the partition's primaries (Replica.shedToHints: one atomic write), which hinted handoff
// then delivers and deletes. Must not know: how ownership was decided, transfers, clients.
//
// Theory of operation
// - Only under a changed ring (epoch > 0): a fixed cluster never sheds, so it behaves as before.
// - After every cluster-state change and at boot, each partition this node neither serves nor
//   waits for is queued for one scan; a write stored for such a partition queues its key.
// - Each tick (the handoff interval) scans up to SCANS_PER_TICK queued partitions and sheds up
//   to SHED_PER_TICK keys; a key that could not be shed yet (a lock, a failed write) is retried
//   on a later tick. The loop runs only while there is work.
import type { NodeContext } from "../context.ts";
import { parseObjectKey, partitionPrefix } from "./keys.ts";
import type { Replica } from "./replica.ts";

const SCANS_PER_TICK = 2;
const SHED_PER_TICK = 64;

export class Shed {
  private readonly partitions = new Set<number>();
  private readonly keys = new Map<string, { partition: number; key: string }>();
  private busy = 0;
  /** Objects shed since boot (metrics). */
  shedCount = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
  ) {}

  get hasWork(): boolean {
    return this.partitions.size > 0 || this.keys.size > 0 || this.busy > 0;
  }

  private strays(p: number): boolean {
    return this.ctx.cluster.epoch > 0 && !this.replica.isPrimary(p) && !this.replica.isPending(p);
  }

  /** The cluster state changed (or the node booted): queue every partition this node no longer serves. */
  ringChanged(): void {
    if (this.ctx.cluster.epoch === 0) return;
    for (let p = 0; p < this.ctx.config.partitionCount; p++) if (this.strays(p)) this.partitions.add(p);
  }

  /** A write was stored: queue its key when its partition is not served here. */
  stored(partition: number, key: string): void {
    if (this.strays(partition)) this.keys.set(`${partition} ${key}`, { partition, key });
  }

  tick(): void {
    for (const p of [...this.partitions].slice(0, SCANS_PER_TICK)) {
      this.partitions.delete(p);
      if (!this.strays(p)) continue;
      this.busy++;
      this.ctx.storage({ type: "scan", prefix: partitionPrefix(p) }, (r) => {
        this.busy--;
        if (!r.ok) return void this.partitions.add(p);
        for (const [storageKey] of r.entries ?? []) {
          const parsed = parseObjectKey(storageKey);
          if (parsed !== null) this.keys.set(`${p} ${parsed.key}`, { partition: p, key: parsed.key });
        }
      });
    }
    for (const [k, entry] of [...this.keys].slice(0, SHED_PER_TICK)) {
      this.keys.delete(k);
      if (!this.strays(entry.partition)) continue;
      this.busy++;
      this.replica.shedToHints(entry.partition, entry.key, (outcome) => {
        this.busy--;
        if (outcome === "shed") this.shedCount++;
        if (outcome === "retry") this.keys.set(k, entry);
      });
    }
  }
}
