// Schedules with node names: every index schedule, named and parsed back, means the same
// faults (same names again, and the same run: equal trace hashes); names that are not members
// are errors; `mec sim` prints names, never the raw indexes.
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../../src/cli/main.ts";
import { EPISODE_KINDS, type FaultSchedule } from "../../../sim/faults.ts";
import { mecdb } from "../../../sim/mecdb.ts";
import { runSimulation } from "../../../sim/run.ts";
import { drawWorld } from "../../../sim/swarm.ts";
import { describeEpisode, memberNames, nameEpisode, nameSchedule, parseNamedSchedule } from "../../../sim/viz/schedule-names.ts";

const episode = fc.record({
  atMs: fc.nat(8000),
  durMs: fc.nat(3000),
  kind: fc.constantFrom(...EPISODE_KINDS),
  node: fc.nat(63),
  peer: fc.nat(63),
  mask: fc.nat(0xffff),
});
const schedule = fc.record({ dropRate: fc.constant(0.01), dupRate: fc.constant(0), episodes: fc.array(episode, { maxLength: 6 }) });

describe("named schedules", () => {
  it("name -> parse -> name is the identity, for clusters of 2 to 7 nodes", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 7 }), schedule, (size, s) => {
        const members = memberNames(size);
        const named = nameSchedule(members, s);
        const back = parseNamedSchedule(JSON.stringify(named), members);
        expect(typeof back).not.toBe("string");
        expect(nameSchedule(members, back as FaultSchedule)).toEqual(named);
        for (const e of named.episodes) expect(JSON.stringify(e)).not.toMatch(/"mask"|"node":\d/);
      }),
    );
  });

  it("a named schedule replays the very same run as its index form", () => {
    const world = drawWorld(11);
    const members = memberNames(world.spec.cluster.size);
    const s: FaultSchedule = {
      dropRate: 0,
      dupRate: 0,
      episodes: [
        { atMs: 200, durMs: 500, kind: "one-way", node: 9, peer: 40, mask: 0 },
        { atMs: 900, durMs: 400, kind: "partition", node: 0, peer: 0, mask: 0b0101 },
        { atMs: 1500, durMs: 300, kind: "crash", node: 22, peer: 5, mask: 77 },
      ],
    };
    const back = parseNamedSchedule(JSON.stringify(nameSchedule(members, s)), members) as FaultSchedule;
    const spec = { ...world.spec, faultPhaseMs: 2000, healPhaseMs: 500, quietMs: 1000 };
    // Every line but the header (which prints the schedule as given) is the same.
    const lines = (sched: FaultSchedule): string[] => {
      const out: string[] = [];
      runSimulation(mecdb, spec, sched, { sink: (l) => out.push(l) });
      return out.slice(1);
    };
    const a = lines(s);
    expect(a.some((l) => l.includes('"ev":"crash"'))).toBe(true);
    expect(lines(back)).toEqual(a);
  });

  it("names what each kind uses, and reads a line per episode", () => {
    const m = memberNames(4);
    expect(nameEpisode(m, { atMs: 1, durMs: 2, kind: "machine-crash", node: 20, peer: 61, mask: 9 })).toEqual({ atMs: 1, durMs: 2, kind: "machine-crash", node: "n1" });
    expect(nameEpisode(m, { atMs: 1, durMs: 2, kind: "clog", node: 1, peer: 0, mask: 0 })).toEqual({ atMs: 1, durMs: 2, kind: "clog", node: "n2", peer: "n3" });
    expect(nameEpisode(m, { atMs: 1, durMs: 2, kind: "partition", node: 1, peer: 0, mask: 0b0011 })).toEqual({ atMs: 1, durMs: 2, kind: "partition", sides: [["n3", "n4"], ["n1", "n2"]] });
    expect(describeEpisode(m, { atMs: 1200, durMs: 800, kind: "crash", node: 2, peer: 0, mask: 0 }, 1)).toBe("e2 crash n3 at +1200 ms for 800 ms");
  });

  it("rejects names that are not members", () => {
    expect(parseNamedSchedule('{"episodes":[{"atMs":0,"durMs":1,"kind":"crash","node":"n9"}]}', memberNames(3))).toMatch(/no node "n9"/);
    expect(parseNamedSchedule('{"episodes":[{"atMs":0,"durMs":1,"kind":"clog","node":"n1","peer":"n1"}]}', memberNames(3))).toMatch(/not another member/);
  });

  it("mec sim prints schedules with names", async () => {
    let out = "";
    const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    try {
      await main(["sim", "--seed", "1", "--no-shrink"]);
    } finally {
      o.mockRestore();
    }
    const line = out.split("\n").find((l) => l.startsWith("schedule: "))!;
    expect(line).toBeDefined();
    expect(line).not.toMatch(/"mask"|"node":\d|"peer":\d/);
    if (line.includes('"node"')) expect(line).toMatch(/"node":"n\d"/);
    expect(out).toMatch(/^ {2}e1 /m);
  });
});
