// Optional scenario (h) of `npm run bench` (`--only a,h,b,c`): the MecDB HTTP layer alone
// (src/adapters/http, the real server with stats and metrics) over an in-memory one-replica
// handle that versions with the real dvvset functions, no host loop, no storage, no
// replication. It separates the cost of the HTTP API from the cost of the node behind it.
//   node --import tsx bench/lib/memory-node-server.ts PORT
import { buildHttpServer } from "../../src/adapters/http/server.ts";
import type { NodeApiHandle } from "../../src/adapters/http/handle.ts";
import { NodeStats } from "../../src/adapters/http/stats.ts";
import type { ClientOp, ClientResult } from "../../src/core/types.ts";
import { applyWrite, emptyClock, emptySet, nanosFromMillis, type SiblingSet } from "../../src/core/versioning/index.ts";

const port = Number(process.argv[2]);
const store = new Map<string, SiblingSet>();
const handle: NodeApiHandle = {
  nodeId: `127.0.0.1:${port}`,
  name: "memory",
  limits: { n: 1, r: 1, w: 1, maxBodyBytes: 1024 * 1024, maxKeyBytes: 1024 },
  isReady: () => true,
  health: () => ({ status: "ok", actor: "memory.1" }),
  async request(op: ClientOp): Promise<ClientResult> {
    if (op.type === "get") return { ok: true, type: "get", set: store.get(op.key) ?? null, replicas: [handle.nodeId] };
    const write = { value: op.type === "put" ? op.value.slice() : null, contentType: op.type === "put" ? op.contentType : "", timestamp: nanosFromMillis(Date.now()) };
    const { set, dot } = applyWrite("dvv", store.get(op.key) ?? emptySet(), op.context ?? emptyClock(), "memory.1", write);
    store.set(op.key, set);
    return { ok: true, type: op.type, set, dot, replicas: [handle.nodeId] };
  },
};
const app = buildHttpServer(handle, new NodeStats({ nodeId: handle.nodeId, name: handle.name }));
await app.listen({ host: "127.0.0.1", port });
process.stdout.write(`ready ${port}\n`);
process.on("SIGTERM", () => void app.close().then(() => process.exit(0)));
