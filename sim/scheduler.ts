// Discrete-event scheduler: a binary min-heap of callbacks ordered by (time, sequence), so
// events at the same simulated time run in the order they were scheduled. Time is
// milliseconds since the Unix epoch (starting at SIM_EPOCH_MS) and only moves when an event
// runs. Knows nothing of nodes, networks or storage.

export const SIM_EPOCH_MS = 1_700_000_000_000;

export interface Scheduled {
  /** Set by cancel(); a cancelled event is skipped when it reaches the top. */
  cancelled: boolean;
  cancel(): void;
}

class Entry implements Scheduled {
  cancelled = false;
  constructor(
    readonly time: number,
    readonly seq: number,
    readonly fire: () => void,
  ) {}
  cancel(): void {
    this.cancelled = true;
  }
}

export class Scheduler {
  private heap: Entry[] = [];
  private seq = 0;
  private nowMs: number;
  /** Events run so far (cancelled ones not counted). */
  eventsRun = 0;

  constructor(startMs = SIM_EPOCH_MS) {
    this.nowMs = startMs;
  }

  get now(): number {
    return this.nowMs;
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Runs fire after delayMs (>= 0) of simulated time. */
  after(delayMs: number, fire: () => void): Scheduled {
    return this.at(this.nowMs + (delayMs > 0 ? delayMs : 0), fire);
  }

  at(timeMs: number, fire: () => void): Scheduled {
    const entry = new Entry(timeMs < this.nowMs ? this.nowMs : timeMs, this.seq++, fire);
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.time < entry.time || (p.time === entry.time && p.seq < entry.seq)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
    return entry;
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const n = heap.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let ce = heap[l]!;
      if (r < n) {
        const re = heap[r]!;
        if (re.time < ce.time || (re.time === ce.time && re.seq < ce.seq)) {
          c = r;
          ce = re;
        }
      }
      if (last.time < ce.time || (last.time === ce.time && last.seq < ce.seq)) break;
      heap[i] = ce;
      i = c;
    }
    heap[i] = last;
    return top;
  }

  /**
   * Runs events until the queue is empty or the next event is later than untilMs; time ends at
   * untilMs. With `done`: stops as soon as it is true after an event (time stays there).
   */
  runUntil(untilMs: number, done?: () => boolean): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.time > untilMs) break;
      this.pop();
      if (top.cancelled) continue;
      this.nowMs = top.time;
      this.eventsRun++;
      top.fire();
      if (done !== undefined && done()) return;
    }
    if (untilMs > this.nowMs) this.nowMs = untilMs;
  }
}
