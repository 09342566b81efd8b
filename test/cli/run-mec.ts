// Runs `mec ARGS` in this process (src/cli/main.ts) with stdout and stderr captured: the
// shared helper of the CLI tests.
import { vi } from "vitest";
import { main } from "../../src/cli/main.ts";

export interface MecRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function runMec(...argv: string[]): Promise<MecRun> {
  let out = "";
  let err = "";
  const o = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
