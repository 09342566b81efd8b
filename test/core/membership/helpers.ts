// Shared by the membership tests: a plain-text put and a node's current cluster state.
import { Harness, bytes } from "../harness.ts";
import type { ClusterState } from "../../../src/core/membership/cluster-state.ts";
import type { ClientResult, NodeId } from "../../../src/core/types.ts";

export function put(h: Harness, via: NodeId, key: string, value: string): ClientResult {
  return h.request(via, { type: "put", key, value: bytes(value), contentType: "text/plain", context: null });
}

export function stateOf(h: Harness, id: NodeId): ClusterState {
  const s = h.node(id).host?.node.inspect?.().cluster;
  if (s === undefined) throw new Error(`${id} is down`);
  return s;
}
