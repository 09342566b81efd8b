// `mec members`, `mec leave` and `mec remove` against the HTTP API (buildHttpServer over a fake
// node handle whose cluster API is the real cluster-state code): the JSON answer on stdout and
// exit 0 when accepted; one line and exit 1 when refused or for an unknown node.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { buildHttpServer } from "../../src/adapters/http/server.ts";
import { NodeStats } from "../../src/adapters/http/stats.ts";
import { applyChange, describeCluster, initialState, memberOf, type ClusterState } from "../../src/core/membership/cluster-state.ts";
import { FakeHandle } from "../adapters/http/fake-handle.ts";
import { runMec } from "./run-mec.ts";

let app: FastifyInstance;
let url: string;
let state: ClusterState;

beforeEach(async () => {
  state = initialState(["a:1", "b:1", "c:1", "d:1"].map((id) => ({ id, name: id })), 16);
  const handle = Object.assign(new FakeHandle(), {
    cluster: {
      view: () => describeCluster(state, 3, []),
      leave: () => {
        const r = applyChange(state, { type: "leave", id: "a:1" }, 3);
        if (!r.ok) return r.message;
        state = r.state;
        return null;
      },
      remove: (node: string) => {
        if (memberOf(state, node) === undefined) return { refused: `${node} is not a member`, unknown: true };
        const r = applyChange(state, { type: "remove", id: node }, 3);
        if (!r.ok) return { refused: r.message, unknown: false };
        state = r.state;
        return null;
      },
    },
  });
  app = buildHttpServer(handle, new NodeStats({ nodeId: handle.nodeId, name: handle.name }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  url = `http://127.0.0.1:${typeof addr === "object" && addr !== null ? addr.port : 0}`;
});
afterEach(async () => {
  await app.close();
});

describe("mec members / leave / remove", () => {
  it("members prints GET /cluster", async () => {
    const r = await runMec("members", url);
    expect(r.code).toBe(0);
    const view = JSON.parse(r.out) as { members: { id: string; status: string }[]; ring: { epoch: number; owners: string[] }; transfers: { pending: number } };
    expect(view.members.map((m) => [m.id, m.status])).toEqual([["a:1", "valid"], ["b:1", "valid"], ["c:1", "valid"], ["d:1", "valid"]]);
    expect(view.ring.epoch).toBe(0);
    expect(view.ring.owners).toHaveLength(16);
    expect(view.transfers.pending).toBe(0);
  });

  it("leave is accepted once (the node is then leaving, transfers pending), refused while they are", async () => {
    const first = await runMec("leave", url);
    expect(first.code).toBe(0);
    const view = JSON.parse(first.out) as { members: { id: string; status: string }[]; transfers: { pending: number } };
    expect(view.members.find((m) => m.id === "a:1")?.status).toBe("leaving");
    expect(view.transfers.pending).toBeGreaterThan(0);
    const again = await runMec("leave", url);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/HTTP 409 conflict: .*pending/);
  });

  it("remove takes a member out; an unknown node is a 404", async () => {
    const ok = await runMec("remove", "c:1", "--url", url);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.out) as { ring: { owners: string[] } }).ring.owners).not.toContain("c:1");
    const unknown = await runMec("remove", "zz:9", "--url", url);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/HTTP 404 not-found: zz:9 is not a member/);
  });
});
