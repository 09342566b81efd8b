// The HTTP API's view of a node: one async request function plus the few facts the API needs
// to validate requests before they reach the node (n, r, w, size limits) and to say whether
// the node has finished booting. Production wires it to NodeHost.requestAsync (src/node-process);
// tests use an in-memory fake. The HTTP layer knows nothing else about the node.
import type { ClusterView } from "../../core/membership/cluster-state.ts";
import type { ClientOp, ClientResult } from "../../core/types.ts";

/** Membership commands and the cluster view (GET /cluster, POST /cluster/leave, POST /cluster/remove). */
export interface ClusterApi {
  view(): ClusterView;
  /** Asks the node to hand its partitions off and leave; null when accepted, else why not. */
  leave(): string | null;
  /** Removes a (crashed) member; null when accepted, else why not (unknown: the node is no member). */
  remove(node: string): { readonly refused: string; readonly unknown: boolean } | null;
}

export interface NodeApiLimits {
  /** Replicas per key; r and w given per request must be 1..n. */
  readonly n: number;
  /** Default read quorum when a GET has no ?r=. */
  readonly r: number;
  /** Default write quorum when a PUT/POST/DELETE has no ?w=. */
  readonly w: number;
  /** Largest accepted request body (value) in bytes; larger bodies get 413. */
  readonly maxBodyBytes: number;
  /** Largest accepted key, in UTF-8 bytes after percent-decoding. */
  readonly maxKeyBytes: number;
}

export interface NodeApiHandle {
  /** Serves one client operation; resolves with the node's answer (errors are data, not rejections). */
  request(op: ClientOp): Promise<ClientResult>;
  /** Address-like node id (production: "host:port"). */
  readonly nodeId: string;
  /** Human node name (the config's `name`). */
  readonly name: string;
  readonly limits: NodeApiLimits;
  /** False until the node has booted (storage open, incarnation known); the API answers 503 starting. */
  isReady(): boolean;
  /**
   * What GET /health reports: "ok" (ready), "starting" (booting), "joining" (booted without its
   * meta record and told to join: waits for a member's cluster state), or "storage-failing" (storage
   * writes are failing: not ready, so load balancers and `mec cluster` route elsewhere), and the
   * node's actor once booted.
   */
  health(): NodeHealth;
  /** Membership (absent in tests that fake a node without it: the /cluster routes answer 404). */
  readonly cluster?: ClusterApi;
}

export type HealthStatus = "ok" | "starting" | "joining" | "storage-failing";

export interface NodeHealth {
  readonly status: HealthStatus;
  /** name.incarnation once booted; null before. */
  readonly actor: string | null;
}

/** The body of GET /health (200 when ready, else 503). `mec cluster` checks `id` to know it reached its own node. */
export interface HealthBody {
  readonly status: HealthStatus;
  readonly id: string;
  readonly name: string;
  readonly actor: string | null;
  readonly ready: boolean;
}

