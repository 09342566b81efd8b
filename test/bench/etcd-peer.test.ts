// The etcd peer of `npm run bench -- --peer etcd` (bench/lib/etcd.ts): its requests are the
// v3 JSON gateway's (base64 key and value), and, where Debian's etcd-server is installed, a
// 3-member loopback cluster starts, takes one PUT through one member and returns it on a
// linearizable range through another. The bench itself is not run here.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ETCD_PROTOCOL, startEtcdCluster } from "../../bench/lib/etcd.ts";

describe("etcd peer", () => {
  it("writes and reads through the v3 JSON gateway with base64 keys and values", () => {
    const put = ETCD_PROTOCOL.put("bench-put-1", Buffer.from("hello"));
    expect(put).toMatchObject({ method: "POST", path: "/v3/kv/put" });
    expect(JSON.parse(String(put.body))).toEqual({ key: Buffer.from("bench-put-1").toString("base64"), value: Buffer.from("hello").toString("base64") });
    const get = ETCD_PROTOCOL.get("bench-get-7");
    expect(get).toMatchObject({ method: "POST", path: "/v3/kv/range" });
    // No "serializable": the gateway's default, a linearizable read.
    expect(JSON.parse(String(get.body))).toEqual({ key: Buffer.from("bench-get-7").toString("base64") });
  });

  it.skipIf(!existsSync("/usr/bin/etcd"))("starts 3 members that answer a PUT and a linearizable GET", async () => {
    const dir = mkdtempSync(join(tmpdir(), "etcd-peer-test-"));
    const target = await startEtcdCluster("/usr/bin/etcd", dir, 3, false);
    try {
      const put = ETCD_PROTOCOL.put("smoke", Buffer.from("v1"));
      const res = await fetch(`${target.urls[0]}${put.path}`, { method: put.method, body: put.body, headers: put.headers });
      expect(res.status).toBe(200);
      const get = ETCD_PROTOCOL.get("smoke");
      const read = await fetch(`${target.urls[2]}${get.path}`, { method: get.method, body: get.body ?? "", headers: get.headers ?? {} });
      const body = (await read.json()) as { kvs?: { value: string }[] };
      expect(Buffer.from(body.kvs?.[0]?.value ?? "", "base64").toString()).toBe("v1");
      expect(target.pids).toHaveLength(3);
    } finally {
      await target.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
