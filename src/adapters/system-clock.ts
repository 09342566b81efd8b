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
    // setTimeout clamps to 1 ms and takes at most 2^31-1 ms; longer waits are chained.
    const MAX_MS = 2 ** 31 - 1;
    let handle: NodeJS.Timeout;
    let cancelled = false;
    const arm = (remainingMs: number): void => {
      const step = Math.min(Math.max(0, remainingMs), MAX_MS);
      handle = setTimeout(() => {
        if (cancelled) return;
        if (remainingMs > MAX_MS) arm(remainingMs - MAX_MS);
        else fire();
      }, step);
      handle.unref();
    };
    arm(Number.isFinite(afterMs) ? afterMs : MAX_MS);
    return {
      cancel(): void {
        cancelled = true;
        clearTimeout(handle);
      },
    };
  }
}
