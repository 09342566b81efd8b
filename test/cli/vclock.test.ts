// `mec vclock` end to end, as a child process (each spawn costs ~0.5 s: keep them few).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mecEntryArgs } from "../../src/cli/self.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SAMPLE_GET = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";
const SAMPLE_SIBLINGS =
  "g6FDgqdDb3VudGVyAalUaW1lc3RhbXDPE0pH93pICm+hQYKnQ291bnRlcgGpVGltZXN0YW1wzxNKR+q4T3ofoUKCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkf15mgjww==";

function mec(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...mecEntryArgs(), ...args], { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("mec vclock", () => {
  it("decodes the README sample and encodes it back to the identical header", () => {
    const d = mec("vclock", "decode", SAMPLE_SIBLINGS);
    expect(d.status).toBe(0);
    expect(d.stdout).toBe(
      '{"C":{"counter":1,"timestamp":"1390002563231255151"},"A":{"counter":1,"timestamp":"1390002508437355039"},"B":{"counter":1,"timestamp":"1390002556455363523"}}\n',
    );
    const e = mec("vclock", "encode", d.stdout.trim());
    expect(e.status).toBe(0);
    expect(e.stdout).toBe(`${SAMPLE_SIBLINGS}\n`);
  });

  it("decodes the first sample exactly", () => {
    const d = mec("vclock", "decode", SAMPLE_GET);
    expect(d).toEqual({ status: 0, stdout: '{"cormacrelf":{"counter":1,"timestamp":"1389861759031483477"}}\n', stderr: "" });
  });

  it("bad input: one line on stderr naming the problem, exit code 2", () => {
    const r = mec("vclock", "compare", SAMPLE_GET, "xyz");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe('mec: bad header "xyz": bad-base64: length 3 is not a multiple of 4\n');
  });
});
