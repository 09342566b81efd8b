// The production ClockPort: wall time from Date.now(), monotonic time from performance.now()
// (CLOCK_MONOTONIC: a stepped wall clock does not move it) and timers from setTimeout. Timers are
// unref'd: a node's pending timers (heartbeats, request timeouts) never keep a stopping process
// alive on their own; the HTTP server and the sockets do while the node runs.
import type { ClockPort, TimerHandle } from "../ports/index.ts";

export class SystemClock implements ClockPort {
  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  setTimer(afterMs: number, fire: () => void): TimerHandle {
    const ms = Number.isFinite(afterMs) ? Math.max(0, afterMs) : MAX_TIMEOUT_MS;
    // The common case (every request arms one or more): one Node timer, no closures.
    if (ms <= MAX_TIMEOUT_MS) return new OneTimer(setTimeout(fire, ms).unref());
    return new ChainedTimer(ms, fire);
  }
}

/** setTimeout clamps to 1 ms and takes at most 2^31-1 ms; longer waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

class OneTimer implements TimerHandle {
  constructor(private readonly handle: NodeJS.Timeout) {}

  cancel(): void {
    clearTimeout(this.handle);
  }
}

/** A wait longer than one setTimeout can take, as a chain of them. */
class ChainedTimer implements TimerHandle {
  private handle: NodeJS.Timeout | null = null;
  private cancelled = false;

  constructor(remainingMs: number, private readonly fire: () => void) {
    this.arm(remainingMs);
  }

  private arm(remainingMs: number): void {
    const step = Math.min(remainingMs, MAX_TIMEOUT_MS);
    this.handle = setTimeout(() => {
      if (this.cancelled) return;
      if (remainingMs > MAX_TIMEOUT_MS) this.arm(remainingMs - MAX_TIMEOUT_MS);
      else this.fire();
    }, step).unref();
  }

  cancel(): void {
    this.cancelled = true;
    if (this.handle !== null) clearTimeout(this.handle);
  }
}
