// Progress lines when stderr is not a terminal: one at the start, at most one per interval
// while items finish, one at the end; nothing when disabled.
import { describe, expect, it } from "vitest";
import { startProgress } from "../../src/cli/progress.ts";

function sink(): { write(s: string): void; isTTY: false; lines: string[] } {
  const lines: string[] = [];
  return { write: (s) => void lines.push(s), isTTY: false, lines };
}

describe("startProgress (plain lines)", () => {
  it("prints at the start, every interval, and at the end", async () => {
    let t = 0;
    const out = sink();
    const p = await startProgress({ label: "mec sim", unit: "seeds", total: 10, enabled: true, stream: out, intervalMs: 5000, now: () => t });
    expect(out.lines).toEqual(["mec sim: 0/10 seeds, 0 failing, 0 s elapsed\n"]);
    t = 1000;
    p.update(1, 0);
    t = 4999;
    p.update(2, 0);
    expect(out.lines).toHaveLength(1); // not before the interval
    t = 5000;
    p.update(5, 1);
    expect(out.lines[1]).toBe("mec sim: 5/10 seeds, 1 failing, 5 s elapsed, about 5 s left\n");
    t = 6000;
    p.update(6, 1);
    expect(out.lines).toHaveLength(2);
    t = 12_000;
    p.update(10, 1);
    p.stop();
    p.stop();
    expect(out.lines.at(-1)).toBe("mec sim: 10/10 seeds, 1 failing, 12 s elapsed\n");
    expect(out.lines).toHaveLength(4);
  });

  it("prints nothing when disabled (--json, --quiet)", async () => {
    const out = sink();
    const p = await startProgress({ label: "mec sim", unit: "seeds", total: 10, enabled: false, stream: out });
    p.update(3, 0);
    p.stop();
    expect(out.lines).toEqual([]);
  });
});
