// startNode in-process: composition, stop() releasing every resource (ports, LOCK), data
// surviving a restart, and the heartbeat/data channel split.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { encodeMessage } from "../../src/core/messages.ts";
import { classifyPeerMessage, startNode } from "../../src/node-process/start-node.ts";
import { createLogger } from "../../src/adapters/logger.ts";
import { freePortBlock } from "../adapters/free-ports.ts";

const tmp = mkdtempSync(join(tmpdir(), "mec-start-node-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const silent = createLogger({ level: "silent" });

describe("classifyPeerMessage", () => {
  it("sends heartbeats on the control channel and everything else on the data channel", () => {
    expect(classifyPeerMessage(encodeMessage({ type: "heartbeat", from: "127.0.0.1:7000", boot: "0000002a" }))).toBe("control");
    expect(classifyPeerMessage(encodeMessage({ type: "get", reqId: "r1", from: "127.0.0.1:7000", partition: 3, key: "k" }))).toBe("data");
    expect(classifyPeerMessage(new Uint8Array([0xc1, 0xff, 0x00]))).toBe("data");
    expect(classifyPeerMessage(new Uint8Array(1000))).toBe("data");
  });
});

describe("startNode", () => {
  it("serves, stops releasing its ports and its LOCK, and keeps its data across a restart", async () => {
    const base = await freePortBlock(3);
    const toml = `name = "solo"\nport = ${base}\nhttpport = ${base + 2}\nroot = "solo"\nn = 1\nr = 1\nw = 1\nsync = false\n`;
    const config = parseConfig(toml, join(tmp, "solo.toml"), tmp);
    let node = await startNode(config, { logger: silent, seed: 1 });
    expect(node.url).toBe(`http://127.0.0.1:${base + 2}`);
    expect(node.actor).toMatch(/^solo\./);
    const put = await fetch(`${node.url}/mec/k`, { method: "PUT", body: "v1", headers: { "content-type": "text/plain" } });
    expect(put.status).toBe(200);

    // The root is locked while the node runs: a second node on it fails and leaves nothing bound.
    await expect(startNode({ ...config, port: base + 10, httpPort: base + 12 }, { logger: silent })).rejects.toThrow(/is in use by another mec process \(LOCK held\)/);

    const actor = node.actor;
    await node.stop();
    await node.stop(); // idempotent
    node = await startNode(config, { logger: silent, seed: 2 }); // same ports, same root
    // Every start is a new incarnation: the next one after the one read back from storage.
    const inc = (a: string) => parseInt(a.slice(a.indexOf(".") + 1), 16);
    expect(node.actor.slice(0, node.actor.indexOf("."))).toBe("solo");
    expect(inc(node.actor)).toBe((inc(actor) + 1) >>> 0);
    const got = await fetch(`${node.url}/mec/k`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe("v1");
    await node.stop();
  });

  it("fails with a clear message when a cluster port is taken, closing what it opened", async () => {
    const base = await freePortBlock(8);
    const config = parseConfig(`name = "a"\nport = ${base}\nhttpport = ${base + 2}\nroot = "a"\nn = 1\nr = 1\nw = 1\n`, join(tmp, "a.toml"), tmp);
    const a = await startNode(config, { logger: silent });
    const clash = parseConfig(`name = "b"\nport = ${base + 1}\nhttpport = ${base + 5}\nroot = "b"\nn = 1\nr = 1\nw = 1\n`, join(tmp, "b.toml"), tmp);
    await expect(startNode(clash, { logger: silent })).rejects.toThrow(/cannot bind the control socket on tcp:\/\/127\.0\.0\.1:\d+: already in use/);
    // b's LevelDB was closed again: it can be opened now.
    const b = await startNode({ ...clash, port: base + 3 }, { logger: silent });
    await b.stop();
    await a.stop();
  });
});
