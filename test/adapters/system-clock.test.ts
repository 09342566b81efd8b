import { afterEach, describe, expect, it, vi } from "vitest";
import { SystemClock } from "../../src/adapters/system-clock.ts";

describe("SystemClock timers", () => {
  afterEach(() => void vi.useRealTimers());

  it("fires a timer once after its delay, and never after cancel", () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const fired: string[] = [];
    clock.setTimer(10, () => fired.push("a"));
    const b = clock.setTimer(10, () => fired.push("b"));
    b.cancel();
    vi.advanceTimersByTime(9);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(fired).toEqual(["a"]);
  });

  it("chains waits longer than setTimeout takes (2^31-1 ms), and cancels them between links", () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const fired: string[] = [];
    const max = 2 ** 31 - 1;
    clock.setTimer(max + 1000, () => fired.push("long"));
    const cancelled = clock.setTimer(max + 1000, () => fired.push("cancelled"));
    vi.advanceTimersByTime(max + 10);
    expect(fired).toEqual([]);
    cancelled.cancel();
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(["long"]);
  });

  it("treats a negative or infinite delay as 0 or the longest wait", () => {
    vi.useFakeTimers();
    const clock = new SystemClock();
    const fired: string[] = [];
    clock.setTimer(-5, () => fired.push("now"));
    clock.setTimer(Number.POSITIVE_INFINITY, () => fired.push("never soon"));
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(["now"]);
  });
});
