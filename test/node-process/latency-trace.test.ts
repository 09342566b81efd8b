import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LatencyTrace } from "../../src/node-process/latency-trace.ts";
import type { StorageOp, StorageResult } from "../../src/core/types.ts";

const saved = process.env.MEC_LATENCY_TRACE;
afterEach(() => {
  if (saved === undefined) delete process.env.MEC_LATENCY_TRACE;
  else process.env.MEC_LATENCY_TRACE = saved;
});

async function lines(file: string, atLeast: number): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const got = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
    if (got.length >= atLeast) return got;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${atLeast} trace lines in ${file}`);
}

describe("LatencyTrace", () => {
  it("is off without MEC_LATENCY_TRACE", () => {
    delete process.env.MEC_LATENCY_TRACE;
    expect(LatencyTrace.fromEnv("n1")).toBeNull();
  });

  it("passes storage, transport and requests through unchanged and marks each with the node's name", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "mec-trace-test-")), "trace.txt");
    process.env.MEC_LATENCY_TRACE = file;
    const trace = LatencyTrace.fromEnv("n1")!;
    const results: StorageResult[] = [];
    const storage = trace.storage({ submit: (_op: StorageOp, done) => queueMicrotask(() => done({ ok: true, value: new Uint8Array([7]) })) });
    await new Promise<void>((r) => storage.submit({ type: "get", key: "k" }, (res) => (results.push(res), r())));
    expect(results).toEqual([{ ok: true, value: new Uint8Array([7]) }]);

    const sent: [string, number][] = [];
    let receiver: ((from: string, bytes: Uint8Array) => void) | null = null;
    const transport = trace.transport({ send: (to, bytes) => sent.push([to, bytes.length]), onMessage: (r) => (receiver = r) });
    const received: string[] = [];
    transport.onMessage((from) => received.push(from));
    transport.send("peer:1", new Uint8Array(3));
    receiver!("peer:2", new Uint8Array(5));
    expect(sent).toEqual([["peer:1", 3]]);
    expect(received).toEqual(["peer:2"]);

    const request = trace.request(async (op) => ({ ok: true, key: op.key }) as never);
    expect(await request({ type: "get", key: "k1" })).toEqual({ ok: true, key: "k1" });

    const got = (await lines(file, 6)).map((l) => l.split(" ").slice(1).join(" "));
    expect(got).toEqual(["n1 st-submit get 1", "n1 st-done get 1", "n1 zsend peer:1 3", "n1 zrecv peer:2 5", "n1 req-in get k1", "n1 req-out get k1"]);
    for (const l of await lines(file, 6)) expect(Number(l.split(" ")[0])).toBeGreaterThan(1.6e12);
  });
});
