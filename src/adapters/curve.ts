// The ZAP handler that admits only cluster members to a node's CURVE sockets (keys and key
// files: curve-keys.ts). Owns: the process's one ZAP handler
// (RFC 27): a Reply socket on inproc://zeromq.zap.01 in zeromq's global context that libzmq
// asks, for every incoming CURVE connection, whether the client's public key may connect.
// Must not know: node messages, the node.
//
// Theory of operation
// - Every node has a key pair. Its ROUTERs are CURVE servers with its secret key and a ZAP
//   domain (the node's id); its DEALERs are CURVE clients that know each peer's public key
//   (curveServerKey), so a DEALER only completes a handshake with the real peer: a process
//   that took a stopped member's port cannot decrypt or answer without that member's secret.
// - ZAP is per process, not per socket: nodes started in one process (tests) share the one
//   handler, each registering its domain's allow-list. A connection whose key is not in its
//   domain's list is refused ("400"); libzmq then drops it without delivering anything.
// - What CURVE does not give: the routing id a DEALER announces is chosen by the client (and
//   zeromq.js does not expose the ZAP user id on messages). peer-auth.ts closes that gap: every
//   zmq message carries a tag only the member owning the routing id can compute.
import { Reply } from "zeromq";
import { z85Encode } from "./curve-keys.ts";

// ---- the ZAP handler ----

const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

interface Domain {
  /** Public key (Z85) -> member id. */
  readonly allowed: ReadonlyMap<string, string>;
  onDenied(): void;
}

const domains = new Map<string, Domain>();
let handler: Reply | null = null;

function answer(frames: Buffer[]): Buffer[] {
  const [version, requestId, domainFrame, , , mechanism, credential] = frames;
  const reply = (status: string, text: string, userId = ""): Buffer[] => [
    Buffer.from("1.0"),
    requestId ?? Buffer.alloc(0),
    Buffer.from(status),
    Buffer.from(text),
    Buffer.from(userId),
    Buffer.alloc(0),
  ];
  if (version?.toString() !== "1.0") return reply("400", "bad ZAP version");
  const domain = domains.get(domainFrame?.toString() ?? "");
  if (domain === undefined) return reply("400", "unknown domain");
  if (mechanism?.toString() !== "CURVE" || credential === undefined || credential.length !== 32) {
    domain.onDenied();
    return reply("400", "CURVE required");
  }
  const member = domain.allowed.get(z85Encode(credential));
  if (member === undefined) {
    domain.onDenied();
    return reply("400", "not a member's key");
  }
  return reply("200", "OK", member);
}

async function serve(socket: Reply): Promise<void> {
  try {
    for await (const frames of socket) await socket.send(answer(frames));
  } catch {
    // closed
  }
}

/**
 * Registers a ZAP domain's allow-list (starting the process's handler on first use). Returns
 * the function that unregisters it (and stops the handler when no domain is left).
 */
export async function registerZapDomain(domain: string, allowed: ReadonlyMap<string, string>, onDenied: () => void): Promise<() => void> {
  if (domains.has(domain)) throw new Error(`ZAP domain ${domain} is already registered in this process`);
  domains.set(domain, { allowed, onDenied });
  if (handler === null) {
    const socket = new Reply({ linger: 0 });
    handler = socket;
    try {
      await socket.bind(ZAP_ENDPOINT);
    } catch (err) {
      handler = null;
      domains.delete(domain);
      socket.close();
      throw err;
    }
    void serve(socket);
  }
  return () => {
    domains.delete(domain);
    if (domains.size === 0 && handler !== null) {
      handler.close();
      handler = null;
    }
  };
}
