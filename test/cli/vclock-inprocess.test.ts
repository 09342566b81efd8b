// `mec vclock` in this process (no spawn): registerVclock on a fresh commander program, so
// these tests do not depend on the other subcommands' modules.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Command } from "commander";
import { registerVclock } from "../../src/cli/vclock.ts";
import type { CommandOutcome } from "../../src/cli/errors.ts";

async function main(argv: string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: 0 };
  const program = new Command("mec").exitOverride();
  registerVclock(program, outcome);
  await program.parseAsync(argv, { from: "user" });
  return outcome.exitCode;
}

const SAMPLE_GET = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";
const SAMPLE_SIBLINGS =
  "g6FDgqdDb3VudGVyAalUaW1lc3RhbXDPE0pH93pICm+hQYKnQ291bnRlcgGpVGltZXN0YW1wzxNKR+q4T3ofoUKCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkf15mgjww==";

let out = "";
let err = "";
beforeEach(() => {
  out = "";
  err = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

describe("mec vclock (in process)", () => {
  it("encode --canonical sorts the actors", async () => {
    const json = '{"C":{"counter":1,"timestamp":"1390002563231255151"},"A":{"counter":1,"timestamp":"1390002508437355039"},"B":{"counter":1,"timestamp":"1390002556455363523"}}';
    expect(await main(["vclock", "encode", "--canonical", json])).toBe(0);
    expect(out).toBe("g6FBgqdDb3VudGVyAalUaW1lc3RhbXDPE0pH6rhPeh+hQoKnQ291bnRlcgGpVGltZXN0YW1wzxNKR/XmaCPDoUOCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkf3ekgKbw==\n");
  });

  it("compare prints the ordering of A relative to B", async () => {
    const put = "gapjb3JtYWNyZWxmgqdDb3VudGVyAqlUaW1lc3RhbXDPE0nIbta/ck0="; // cormacrelf counter 2
    expect(await main(["vclock", "compare", SAMPLE_GET, put])).toBe(0);
    expect(await main(["vclock", "compare", put, SAMPLE_GET])).toBe(0);
    expect(await main(["vclock", "compare", SAMPLE_GET, SAMPLE_GET])).toBe(0);
    expect(await main(["vclock", "compare", SAMPLE_GET, SAMPLE_SIBLINGS])).toBe(0);
    expect(out).toBe("before\nafter\nequal\nconcurrent\n");
  });

  it("merge prints the canonical merged header", async () => {
    expect(await main(["vclock", "merge", SAMPLE_SIBLINGS, SAMPLE_GET])).toBe(0);
    const merged = out.trim();
    out = "";
    expect(await main(["vclock", "decode", merged])).toBe(0);
    expect(out).toBe(
      '{"A":{"counter":1,"timestamp":"1390002508437355039"},"B":{"counter":1,"timestamp":"1390002556455363523"},"C":{"counter":1,"timestamp":"1390002563231255151"},"cormacrelf":{"counter":1,"timestamp":"1389861759031483477"}}\n',
    );
  });

  it("bad JSON and bad clocks exit 2 with one line", async () => {
    expect(await main(["vclock", "encode", "{nope"])).toBe(2);
    expect(err).toMatch(/^mec: bad JSON "\{nope": not-json: [^\n]*\n$/);
    err = "";
    expect(await main(["vclock", "encode", '{"a":{"counter":0,"timestamp":"1"}}'])).toBe(2);
    expect(err).toBe('mec: bad JSON "{\\"a\\":{\\"counter\\":0,\\"timestamp\\":\\"1\\"}}": bad-counter: counter of actor "a" is 0, expected an integer 1..4294967295\n');
    err = "";
    expect(await main(["vclock", "merge", SAMPLE_GET, "gA=="  , "kA=="])).toBe(2);
    expect(err).toBe('mec: bad header "kA==": wrong-shape: the clock is an array, expected a map\n');
    expect(out).toBe("");
  });
});
