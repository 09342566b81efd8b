// Which of a node's two peer channels a message travels on (see zmq-transport.ts): heartbeats
// on the control channel, everything else (requests, replies, probes and their acks, repairs,
// hints, anti-entropy) on the data channel. One policy for production (start-node.ts passes it
// to the transport) and for the simulator's network (sim/mecdb.ts), so the channel faults the
// simulator draws hit the messages they would hit on real sockets.
import { decode as msgpackDecode } from "@msgpack/msgpack";
import type { Channel } from "./zmq-transport.ts";

/** Peer messages that travel on the control channel (`port`): membership traffic. */
const CONTROL_TYPES = new Set(["heartbeat"]);
/** Heartbeats are a few dozen bytes; anything larger is data without decoding it. */
const CONTROL_SIZE_MAX = 256;

/** Routes heartbeats to the control socket, the rest to the data socket. */
export function classifyPeerMessage(bytes: Uint8Array): Channel {
  if (bytes.length > CONTROL_SIZE_MAX) return "data";
  // A heartbeat is a msgpack map of three fields (type, from, boot); a map of any other size is
  // data without decoding it (gets, puts, replies have more fields).
  if (bytes[0] !== 0x83) return "data";
  try {
    const msg = msgpackDecode(bytes) as { type?: unknown } | null;
    return typeof msg === "object" && msg !== null && typeof msg.type === "string" && CONTROL_TYPES.has(msg.type) ? "control" : "data";
  } catch {
    return "data";
  }
}
