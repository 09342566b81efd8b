// The HTTP API's view of a node: one async request function plus the few facts the API needs
// to validate requests before they reach the node (n, r, w, size limits) and to say whether
// the node has finished booting. Production wires it to NodeHost.requestAsync (src/server);
// tests use an in-memory fake. The HTTP layer knows nothing else about the node.
import type { ClientOp, ClientResult } from "../../core/types.ts";

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
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
export const DEFAULT_MAX_KEY_BYTES = 1024;
