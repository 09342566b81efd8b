// Ownership handoff as a trace shows it: the ring epochs nodes adopt (their `ring-changed`
// events), each partition transfer (`transfer-started` / `transfer-done` events and the
// `transfer` / `transfer-ack` messages between them), and the marks the diagram puts on the
// lanes. Pure: trace lines and the parsed messages in, a model out; it reads nothing but the
// trace (no ring code: owners, pending partitions and members come from the events). A trace
// without membership changes gives an empty model.
import type { Message, NodeMark, TraceLine } from "./model.ts";

interface MemberStatus {
  readonly id: string;
  readonly status: string;
}

/** A cluster state one node adopted (one `ring-changed` event). */
export interface RingAdoption {
  readonly t: number;
  readonly step: number;
  readonly node: string;
  readonly epoch: number;
  /** Partitions still waiting for a transfer under that state. */
  readonly pending: readonly number[];
  readonly owners: readonly string[];
  readonly members: readonly MemberStatus[];
}

/** The first time the trace shows a ring epoch (any node). */
export interface EpochChange {
  readonly epoch: number;
  readonly t: number;
  readonly step: number;
  readonly node: string;
  /** What changed in the member list, e.g. "n4 joins", "n2 leaves" ("" when it cannot tell). */
  readonly change: string;
  /** Partitions waiting for a transfer when the epoch was first adopted. */
  readonly pending: number;
  /** Partitions whose owner differs from the previous epoch's; null for the first epoch seen. */
  readonly moved: number | null;
  readonly partitions: number;
}

/** One partition transfer, from `from` to `to` (a re-run after a restart is the same transfer). */
export interface TransferRun {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
  startT: number | null;
  startStep: number | null;
  /** How many times the sender started it (more than 1: restarted from the fold). */
  attempts: number;
  doneT: number | null;
  doneStep: number | null;
  /** Objects the sender reports at the end (transfer-done), else null. */
  objects: number | null;
  /** `transfer` messages sent, how many were dropped, objects in batches the receiver acknowledged. */
  batches: number;
  dropped: number;
  objectsAcked: number;
  /** First and last trace step that belongs to it. */
  firstStep: number;
  lastStep: number;
}

export interface HandoffModel {
  readonly adoptions: readonly RingAdoption[];
  readonly epochs: readonly EpochChange[];
  readonly transfers: readonly TransferRun[];
  readonly marks: readonly NodeMark[];
}

export interface TransferSummary {
  readonly transfers: number;
  readonly done: number;
  readonly unfinished: number;
  readonly objects: number;
  readonly batches: number;
  readonly dropped: number;
  readonly epochs: readonly number[];
}

interface TransferCarried {
  readonly partition: number;
  readonly objects: number;
  readonly last: boolean;
}

function transferOf(m: Message): TransferCarried | null {
  const t = (m.carries as { transfer?: TransferCarried } | null)?.transfer;
  return t !== undefined && typeof t.partition === "number" ? t : null;
}

/** The member-list difference between two epochs, in words. */
function describeChange(before: readonly MemberStatus[] | null, after: readonly MemberStatus[]): string {
  const was = new Map((before ?? []).map((m) => [m.id, m.status]));
  const words: string[] = [];
  for (const m of after) {
    const old = was.get(m.id);
    if (before !== null && old === undefined) words.push(`${m.id} joins`);
    else if (m.status === "leaving" && old !== "leaving") words.push(`${m.id} leaves`);
    else if (m.status === "removed" && old !== "removed" && old !== undefined) words.push(`${m.id} removed`);
    else if (before === null && m.status === "joining") words.push(`${m.id} joins`);
  }
  return words.join(", ");
}

class HandoffBuilder {
  private readonly adoptions: RingAdoption[] = [];
  private readonly epochs: EpochChange[] = [];
  private readonly runs: TransferRun[] = [];
  private readonly marks: NodeMark[] = [];
  /** node -> its last adoption. */
  private readonly lastOf = new Map<string, RingAdoption>();
  /** epoch -> the first adoption of it. */
  private readonly firstOfEpoch = new Map<number, RingAdoption>();
  /** transfer reqId -> the run and the batch's object count. */
  private readonly batchOf = new Map<string, { run: TransferRun; objects: number }>();

  constructor(
    private readonly lines: readonly TraceLine[],
    private readonly messages: ReadonlyMap<number, Message>,
  ) {}

  build(): HandoffModel {
    this.lines.forEach((l, step) => {
      if (l.ev === "node-event" && l.node !== null) this.nodeEvent(l, step);
      else if (l.ev === "send" || l.ev === "deliver" || l.ev === "drop") this.message(l, step);
    });
    return { adoptions: this.adoptions, epochs: this.epochs, transfers: this.runs, marks: this.marks };
  }

  /** The open run of (partition, from, to), or a new one (a trace may begin mid-transfer). */
  private run(partition: number, from: string, to: string, step: number): TransferRun {
    const open = this.runs.find((r) => r.partition === partition && r.from === from && r.to === to && r.doneT === null);
    if (open !== undefined) return open;
    const r: TransferRun = { partition, from, to, startT: null, startStep: null, attempts: 0, doneT: null, doneStep: null, objects: null, batches: 0, dropped: 0, objectsAcked: 0, firstStep: step, lastStep: step };
    this.runs.push(r);
    return r;
  }

  private nodeEvent(l: TraceLine, step: number): void {
    const node = l.node!;
    const e = l["event"] as Record<string, unknown>;
    switch (e["type"]) {
      case "ring-changed":
        return this.ringChanged(l, step, e);
      case "transfer-started": {
        const r = this.run(Number(e["partition"]), node, String(e["to"]), step);
        r.attempts++;
        if (r.startT === null) [r.startT, r.startStep] = [l.t, step];
        r.lastStep = step;
        this.marks.push({ t: l.t, step, node, text: `transfer p${r.partition} → ${r.to}${r.attempts > 1 ? ` (start ${r.attempts})` : ""}` });
        return;
      }
      case "transfer-done": {
        const r = this.run(Number(e["partition"]), node, String(e["to"]), step);
        [r.doneT, r.doneStep, r.lastStep] = [l.t, step, step];
        r.objects = typeof e["objects"] === "number" ? e["objects"] : null;
        this.marks.push({ t: l.t, step, node, text: `p${r.partition} → ${r.to} done: ${r.objects ?? "?"} objects` });
        return;
      }
      case "left":
        this.marks.push({ t: l.t, step, node, text: "left the cluster" });
        return;
      case "join-refused":
        this.marks.push({ t: l.t, step, node, text: "join refused" });
        return;
      default:
        return;
    }
  }

  private ringChanged(l: TraceLine, step: number, e: Record<string, unknown>): void {
    const node = l.node!;
    const a: RingAdoption = {
      t: l.t, step, node, epoch: Number(e["epoch"]),
      pending: Array.isArray(e["pending"]) ? (e["pending"] as number[]) : [],
      owners: Array.isArray(e["owners"]) ? (e["owners"] as string[]) : [],
      members: Array.isArray(e["members"]) ? (e["members"] as MemberStatus[]) : [],
    };
    const prev = this.lastOf.get(node);
    this.adoptions.push(a);
    this.lastOf.set(node, a);
    if (!this.firstOfEpoch.has(a.epoch)) {
      const before = [...this.firstOfEpoch.values()].filter((x) => x.epoch < a.epoch).sort((x, y) => y.epoch - x.epoch)[0] ?? null;
      this.firstOfEpoch.set(a.epoch, a);
      const moved = before === null || before.owners.length !== a.owners.length ? null : a.owners.filter((o, p) => before.owners[p] !== o).length;
      this.epochs.push({ epoch: a.epoch, t: l.t, step, node, change: describeChange(before?.members ?? null, a.members), pending: a.pending.length, moved, partitions: a.owners.length });
    }
    if (prev === undefined || prev.epoch !== a.epoch) this.marks.push({ t: l.t, step, node, text: `ring epoch ${a.epoch} (${a.pending.length} pending)` });
    else if (prev.pending.length > 0 && a.pending.length === 0) this.marks.push({ t: l.t, step, node, text: `epoch ${a.epoch}: handoffs done` });
  }

  private message(l: TraceLine, step: number): void {
    const m = this.messages.get(l["id"] as number);
    if (m === undefined || (m.type !== "transfer" && m.type !== "transfer-ack")) return;
    if (m.type === "transfer") {
      const t = transferOf(m);
      if (t === null) return;
      const r = this.run(t.partition, m.from, m.to, step);
      r.lastStep = step;
      if (l.ev === "send") {
        r.batches++;
        if (m.reqId !== null) this.batchOf.set(m.reqId, { run: r, objects: t.objects });
      } else if (l.ev === "drop" && m.deliveries.length === 0) r.dropped++;
      return;
    }
    const batch = m.reqId === null ? undefined : this.batchOf.get(m.reqId);
    if (batch === undefined) return;
    batch.run.lastStep = step;
    // The sender counts a batch once, at its first acknowledgement.
    if (l.ev === "deliver" && m.deliveries[0]?.step === step && this.batchOf.delete(m.reqId!)) batch.run.objectsAcked += batch.objects;
  }
}

export function buildHandoffModel(lines: readonly TraceLine[], messages: ReadonlyMap<number, Message>): HandoffModel {
  return new HandoffBuilder(lines, messages).build();
}

export function summariseTransfers(h: HandoffModel): TransferSummary {
  const done = h.transfers.filter((r) => r.doneT !== null);
  return {
    transfers: h.transfers.length,
    done: done.length,
    unfinished: h.transfers.length - done.length,
    objects: done.reduce((n, r) => n + (r.objects ?? r.objectsAcked), 0),
    batches: h.transfers.reduce((n, r) => n + r.batches, 0),
    dropped: h.transfers.reduce((n, r) => n + r.dropped, 0),
    epochs: h.epochs.map((e) => e.epoch),
  };
}

/** One line: "6 transfers (5 done, 1 unfinished), 312 objects moved in 9 batches (1 dropped); ring epochs 1, 2". */
export function transferSummaryText(s: TransferSummary): string {
  const epochs = s.epochs.length === 0 ? "" : `; ring epoch${s.epochs.length === 1 ? "" : "s"} ${s.epochs.join(", ")}`;
  if (s.transfers === 0) return `no partition transfers${epochs}`;
  const dropped = s.dropped > 0 ? ` (${s.dropped} dropped)` : "";
  return `${s.transfers} transfer${s.transfers === 1 ? "" : "s"} (${s.done} done, ${s.unfinished} unfinished), ${s.objects} objects moved in ${s.batches} batch${s.batches === 1 ? "" : "es"}${dropped}${epochs}`;
}

/** One transfer in words: "p3 n1 -> n4: done at 812 ms, 64 objects, 2 batches (1 dropped)". */
export function transferRunText(r: TransferRun): string {
  const state = r.doneT !== null ? `done at ${r.doneT} ms, ${r.objects ?? r.objectsAcked} objects` : `unfinished, ${r.objectsAcked} objects acknowledged`;
  const restarts = r.attempts > 1 ? `, started ${r.attempts} times` : "";
  return `p${r.partition} ${r.from} -> ${r.to}: ${state}, ${r.batches} batch${r.batches === 1 ? "" : "es"}${r.dropped > 0 ? ` (${r.dropped} dropped)` : ""}${restarts}`;
}
