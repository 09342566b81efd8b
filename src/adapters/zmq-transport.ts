// The production TransportPort over ZeroMQ (zeromq 6 / libzmq 4.3). It moves opaque byte
// messages between nodes; it knows nothing of what they mean.
//
// Theory of operation
// - Each node binds two ROUTER sockets (the original MecDB's "N-to-1" sockets):
//     tcp://bind:(port + 1)  the data channel: requests, replies, repairs, hints, handoff;
//     tcp://bind:port        the control channel: membership / heartbeats.
//   A ROUTER prefixes every message it receives with the sender's routing id; every node's
//   DEALERs use the node's own id as routing id, so the first frame names the sender and we
//   deliver (fromNodeId, bytes) to the one registered receiver. A zmq message carries one or
//   more node messages, length-prefixed in one payload frame ([routingId, payload] at the
//   ROUTER; see frameBatch): a sender sends everything queued for a peer at once (PeerSocket).
// - For each peer the node keeps one DEALER per channel, connected to the peer's ROUTER.
//   Which channel a message takes is decided by `classify(bytes)` (the composition root passes
//   the node's codec; default: everything on the data channel). Keeping heartbeats on their own
//   socket means they never wait behind a backlog of data messages to a slow peer, so a busy
//   peer is not mistaken for a dead one.
// - Sends are fire and forget (the node copes with loss). zeromq.js allows one pending send()
//   per socket (a second one throws EBUSY), so each DEALER has a JS send queue drained by one
//   pump; the queue is bounded (`queueMax`), and beyond the bound the oldest message is
//   dropped and counted (it is the stalest, and the node retries what matters).
//
// Socket options and their trade-offs
// - `immediate: false` (libzmq's default) on DEALERs: a message for a peer whose connection
//   is not (yet, or no longer) established waits in libzmq's queue, up to the high-water mark,
//   and is delivered when the connection comes up. That matters at boot and after a restart:
//   a DEALER retries its connect every reconnectInterval (backing off to
//   reconnectMaxInterval), and with `immediate: true` every message in that window, e.g. the
//   first replicate of the first write after `mec cluster` reported ready, was dropped and
//   the request failed its quorum (seen in test/cluster under load). The price: after an
//   outage the peer receives a burst of stale messages. The node is built for that: every
//   request carries a request id (with a boot nonce), so a late reply never counts toward a
//   new request, forwarded writes are deduplicated by request id, and replicated sets merge
//   idempotently. The burst is bounded by the high-water marks: small on the control channel
//   (a stale heartbeat is worthless), larger on the data channel. Beyond the mark send()
//   fails at once (sendTimeout 0) and the message is dropped and counted as `unreachable`.
// - `sendTimeout` (default 0): send() never blocks; if libzmq cannot queue the message now
//   (the high-water mark is reached for a dead or slow peer), it is dropped.
// - `linger: 0` on every socket: close() discards anything unsent, so the process can always
//   exit, even with messages for a dead peer.
// - `handover: true` on ROUTERs: when a peer restarts and reconnects with the same routing id
//   before the old connection is noticed dead, the new connection wins (libzmq's default would
//   reject the newcomer).
// - Reconnection after a peer restarts is libzmq's job: a DEALER retries its connect every
//   `reconnectInterval` ms (capped by `reconnectMaxInterval`); test/adapters verifies it.
// - Messages a node sends to itself are delivered through the event loop (never re-entrant).
// - Security (optional, `curve`): both ROUTERs are CURVE servers whose ZAP handler admits
//   only members' public keys, and every DEALER authenticates the peer it connects to by its
//   public key, so traffic is encrypted and only members take part (curve.ts). The sender a
//   message is delivered with is the connection's routing id, which with CURVE every zmq
//   message proves with a tag only that member can make ([payload, tag]; peer-auth.ts);
//   without CURVE anyone who can reach the ports can claim any id. `maxMessageBytes` bounds
//   what a ROUTER accepts.
import { Dealer, Router } from "zeromq";
import { registerZapDomain } from "./curve.ts";
import type { CurveKeyPair } from "./curve-keys.ts";
import { PeerAuthenticator } from "./peer-auth.ts";
import type { NodeId } from "../core/types.ts";
import type { TransportPort } from "../ports/index.ts";

export type Channel = "control" | "data";

interface ZmqTransportOptions {
  /** This node's id; peers see it as the routing id of our DEALERs. */
  readonly selfId: NodeId;
  /** Host to bind the ROUTERs on (never 0.0.0.0 unless configured). */
  readonly bind: string;
  /** The node's cluster port: control ROUTER on `port`, data ROUTER on `port + 1`. */
  readonly port: number;
  /** Maps a node id to its host and cluster port; default parses "host:port". */
  readonly addressOf?: (id: NodeId) => { host: string; port: number };
  /** Peers to connect to at start, on both channels, so the connections are up before the first message. Others are connected on first send. */
  readonly peers?: readonly NodeId[];
  /** Which channel a message takes; default: data. */
  readonly classify?: (bytes: Uint8Array) => Channel;
  /** Bound of each peer socket's JS send queue (messages); beyond it the oldest is dropped. */
  readonly queueMax?: number;
  /** zeromq sendTimeout in ms: 0 = drop at once if libzmq cannot queue the message. */
  readonly sendTimeoutMs?: number;
  /** libzmq high-water mark of each data-channel DEALER (messages). Default 1000. */
  readonly sendHighWaterMark?: number;
  /** libzmq high-water mark of each control-channel DEALER (heartbeats). Default 16. */
  readonly controlHighWaterMark?: number;
  /** Queue messages for peers not connected (yet); see the header. Default false. */
  readonly immediate?: boolean;
  readonly reconnectIntervalMs?: number;
  readonly reconnectMaxIntervalMs?: number;
  /**
   * CURVE (see curve.ts): this node's key pair and every peer's public key. Absent: plain
   * TCP, anyone who reaches the ports can talk to the node (loopback only, unless allowed).
   */
  readonly curve?: { readonly keys: CurveKeyPair; readonly peerKeys: ReadonlyMap<NodeId, string> };
  /** Largest zmq message a ROUTER accepts (libzmq maxMessageSize: a larger one drops the connection); a sender drops node messages that cannot fit. Default 64 MiB. */
  readonly maxMessageBytes?: number;
  /** Called for transport trouble worth a log line (dropped messages are only counted). */
  readonly onWarning?: (msg: string, fields: Record<string, unknown>) => void;
}

interface TransportStats {
  sent: number;
  received: number;
  /** Dropped because a peer's JS queue was full. */
  droppedQueueFull: number;
  /** Dropped because libzmq could not take the message (peer down, or its HWM reached). */
  droppedUnreachable: number;
  /** Received zmq messages that were not [routingId, framed payload]. */
  malformed: number;
  /** Node messages not sent because they exceed the message size limit. */
  droppedTooLarge: number;
  /** Incoming CURVE connections the ZAP handler refused (not a member's key). */
  zapDenied: number;
  /** Received zmq messages whose tag does not prove their routing id (peer-auth.ts); dropped. */
  unauthenticated: number;
}

/** Parses a production node id "host:port" (the last colon splits, so IPv6 "[::1]:7000" works). */
export function parseNodeId(id: NodeId): { host: string; port: number } {
  const colon = id.lastIndexOf(":");
  const port = Number(id.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new Error(`not a host:port node id: ${JSON.stringify(id)}`);
  }
  let host = id.slice(0, colon);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host, port };
}

function tcpUrl(host: string, port: number): string {
  return host.includes(":") ? `tcp://[${host}]:${port}` : `tcp://${host}:${port}`;
}

/** Most node messages one zmq message carries (a backlog leaves in batches of this many). */
const FRAMES_MAX = 64;
/** A batch stops growing past this many bytes (so it stays under the peer's message size limit). */
const BATCH_BYTES_MAX = 1 << 20;
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The payload frame of a zmq message: each node message as a 4-byte big-endian length and its
 * bytes. One frame, not one per message: zeromq.js costs ~3.5 us of CPU per frame (measured),
 * copying a few hundred bytes much less.
 */
export function frameBatch(messages: readonly Uint8Array[]): Buffer {
  let size = 0;
  for (const m of messages) size += 4 + m.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const m of messages) {
    out.writeUInt32BE(m.length, at);
    out.set(m, at + 4);
    at += 4 + m.length;
  }
  return out;
}

/** Splits a payload frame into its node messages (views, no copies); null if malformed. */
export function unframeBatch(frame: Buffer): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < frame.length) {
    if (at + 4 > frame.length) return null;
    const len = frame.readUInt32BE(at);
    if (at + 4 + len > frame.length) return null;
    out.push(frame.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out.length === 0 ? null : out;
}

/**
 * One DEALER with its bounded send queue and single pump. The pump starts in a setImmediate,
 * after the I/O callbacks of the current event-loop turn, so every message for this peer
 * produced in that turn (by all the requests it served) leaves in one zmq message: one native
 * send, one wake-up of libzmq's I/O thread and of the peer's, instead of one
 * per message (measured: +40-50% cluster throughput in `npm run bench`, scenario c).
 * Batches are sent only while the connection is up (handshake done): for a peer that is down,
 * libzmq holds messages up to the high-water mark, which then still counts node messages, so
 * the burst a restarted peer receives stays bounded by it. A connected but slow peer may have
 * up to FRAMES_MAX times the mark queued in libzmq.
 */
class PeerSocket {
  private readonly queue: Uint8Array[] = [];
  private pumping = false;
  private closed = false;
  private connected = false;

  constructor(
    private readonly socket: Dealer,
    private readonly queueMax: number,
    private readonly stats: TransportStats,
    private readonly messageBytesMax: number,
    /** With CURVE: the tag that proves this node sent the frame (peer-auth.ts). */
    private readonly tagOf: ((frame: Buffer) => Buffer) | null,
  ) {
    socket.events.on("handshake", () => (this.connected = true));
    socket.events.on("disconnect", () => (this.connected = false));
  }

  enqueue(bytes: Uint8Array): void {
    if (this.closed) return;
    if (bytes.length + 4 > this.messageBytesMax) {
      this.stats.droppedTooLarge++;
      return;
    }
    if (this.queue.length >= this.queueMax) {
      this.queue.shift();
      this.stats.droppedQueueFull++;
    }
    this.queue.push(bytes);
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => void this.pump());
  }

  get queued(): number {
    return this.queue.length;
  }

  /** The connection to the peer is up (handshake done). */
  get isConnected(): boolean {
    return this.connected;
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closed && this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchLength());
        try {
          const frame = frameBatch(batch);
          await this.socket.send(this.tagOf === null ? frame : [frame, this.tagOf(frame)]);
          this.stats.sent += batch.length;
        } catch {
          // EAGAIN (no completed connection or HWM reached, with sendTimeout) or the socket
          // closed under us: the messages are lost, which the node tolerates.
          if (this.closed) return;
          this.stats.droppedUnreachable += batch.length;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** How many queued messages the next batch takes: up to FRAMES_MAX (1 while not connected), within BATCH_BYTES_MAX. */
  private batchLength(): number {
    const max = Math.min(this.connected ? FRAMES_MAX : 1, this.queue.length);
    let bytes = 4 + this.queue[0]!.length;
    let n = 1;
    while (n < max && bytes + 4 + this.queue[n]!.length <= Math.min(BATCH_BYTES_MAX, this.messageBytesMax)) bytes += 4 + this.queue[n++]!.length;
    return n;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.socket.close();
  }
}

export class ZmqTransport implements TransportPort {
  readonly stats: TransportStats = { sent: 0, received: 0, droppedQueueFull: 0, droppedUnreachable: 0, malformed: 0, droppedTooLarge: 0, zapDenied: 0, unauthenticated: 0 };
  private readonly auth: PeerAuthenticator | null;
  private unregisterZap: (() => void) | null = null;
  private receiver: ((from: NodeId, bytes: Uint8Array) => void) | null = null;
  private readonly peers = new Map<string, PeerSocket>();
  private readonly routers: Router[] = [];
  private closed = false;
  private readonly addressOf: (id: NodeId) => { host: string; port: number };
  private readonly classify: (bytes: Uint8Array) => Channel;

  private constructor(private readonly opts: ZmqTransportOptions) {
    this.addressOf = opts.addressOf ?? parseNodeId;
    this.classify = opts.classify ?? (() => "data");
    this.auth = opts.curve === undefined ? null : new PeerAuthenticator(opts.selfId, opts.curve.keys, opts.curve.peerKeys);
  }

  /** Binds the control (port) and data (port + 1) ROUTERs; rejects with a clear message if a port is taken. */
  static async start(opts: ZmqTransportOptions): Promise<ZmqTransport> {
    const t = new ZmqTransport(opts);
    const endpoints: [Channel, number][] = [
      ["control", opts.port],
      ["data", opts.port + 1],
    ];
    const curve = opts.curve;
    try {
      if (curve !== undefined) {
        // The allow-list: each member's public key, mapped to its id (ZAP user id).
        const allowed = new Map<string, string>([...curve.peerKeys].map(([id, key]) => [key, id]));
        t.unregisterZap = await registerZapDomain(opts.selfId, allowed, () => t.stats.zapDenied++);
      }
      for (const [channel, port] of endpoints) {
        const router = new Router({
          linger: 0,
          handover: true,
          receiveHighWaterMark: 10_000,
          maxMessageSize: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
          // CURVE server; zapEnforceDomain: no ZAP answer, no connection (never "allow all").
          ...(curve === undefined ? {} : { curveServer: true, curveSecretKey: curve.keys.secretKey, zapDomain: opts.selfId, zapEnforceDomain: true }),
        });
        t.routers.push(router);
        try {
          await router.bind(tcpUrl(opts.bind, port));
        } catch (err) {
          const code = (err as { code?: string }).code ?? "";
          const why = code === "EADDRINUSE" ? "already in use" : (err as Error).message;
          throw new Error(`cannot bind the ${channel} socket on ${tcpUrl(opts.bind, port)}: ${why}`);
        }
        void t.receiveLoop(router);
      }
      for (const peer of opts.peers ?? []) {
        if (peer === opts.selfId) continue;
        t.peerSocket(peer, "control");
        t.peerSocket(peer, "data");
      }
    } catch (err) {
      t.close();
      throw err;
    }
    return t;
  }

  onMessage(receive: (from: NodeId, bytes: Uint8Array) => void): void {
    this.receiver = receive;
  }

  send(to: NodeId, bytes: Uint8Array): void {
    if (this.closed) return;
    if (to === this.opts.selfId) {
      // Loopback without sockets; copied so the sender may reuse its buffer.
      const copy = bytes.slice();
      setImmediate(() => {
        if (this.closed) return;
        this.stats.sent++;
        this.stats.received++;
        this.receiver?.(to, copy);
      });
      return;
    }
    const channel = this.classify(bytes);
    let peer: PeerSocket;
    try {
      peer = this.peerSocket(to, channel);
    } catch (err) {
      this.stats.droppedUnreachable++;
      this.opts.onWarning?.("cannot address peer", { to, error: (err as Error).message });
      return;
    }
    peer.enqueue(bytes);
  }

  /** Both channels to `peer` have completed their handshake (a socket exists only once it was given at start or sent to). */
  isConnected(peer: NodeId): boolean {
    return (this.peers.get(`control ${peer}`)?.isConnected ?? false) && (this.peers.get(`data ${peer}`)?.isConnected ?? false);
  }

  /** Messages waiting in JS send queues (all peers, all channels). */
  get queued(): number {
    let total = 0;
    for (const peer of this.peers.values()) total += peer.queued;
    return total;
  }

  /** Closes every socket (linger 0: unsent messages are discarded). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const peer of this.peers.values()) peer.close();
    this.peers.clear();
    for (const router of this.routers) router.close();
    this.routers.length = 0;
    this.unregisterZap?.();
    this.unregisterZap = null;
  }

  private peerSocket(to: NodeId, channel: Channel): PeerSocket {
    const key = `${channel} ${to}`;
    const existing = this.peers.get(key);
    if (existing) return existing;
    const { host, port } = this.addressOf(to);
    const curve = this.opts.curve;
    const serverKey = curve?.peerKeys.get(to);
    if (curve !== undefined && serverKey === undefined) throw new Error(`no CURVE public key for ${to}`);
    const dealer = new Dealer({
      ...(curve === undefined ? {} : { curveServerKey: serverKey!, curvePublicKey: curve.keys.publicKey, curveSecretKey: curve.keys.secretKey }),
      routingId: this.opts.selfId,
      linger: 0,
      immediate: this.opts.immediate ?? false,
      sendTimeout: this.opts.sendTimeoutMs ?? 0,
      sendHighWaterMark: channel === "control" ? (this.opts.controlHighWaterMark ?? 16) : (this.opts.sendHighWaterMark ?? 1000),
      reconnectInterval: this.opts.reconnectIntervalMs ?? 100,
      reconnectMaxInterval: this.opts.reconnectMaxIntervalMs ?? 500,
    });
    const auth = this.auth;
    const tagOf = auth === null ? null : (frame: Buffer): Buffer => auth.tag(to, frame);
    // The PeerSocket subscribes to the socket's events first: a handshake that completed
    // before the monitor was attached would be missed (and the peer never seen as connected).
    const peer = new PeerSocket(dealer, this.opts.queueMax ?? 1000, this.stats, this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, tagOf);
    dealer.connect(tcpUrl(host, channel === "control" ? port : port + 1));
    this.peers.set(key, peer);
    return peer;
  }

  private async receiveLoop(router: Router): Promise<void> {
    try {
      // receive() directly rather than `for await` over the socket: zeromq's async iterator
      // wraps every message in one more async call and result object.
      for (;;) {
        let frames: Buffer[];
        try {
          frames = await router.receive();
        } catch (err) {
          if (this.closed || router.closed) return; // closed under the pending receive (EAGAIN)
          throw err;
        }
        const [id, payload, tag] = frames;
        const messages = frames.length === (this.auth === null ? 2 : 3) && id !== undefined && id.length > 0 && payload !== undefined ? unframeBatch(payload) : null;
        if (messages === null) {
          this.stats.malformed++;
          continue;
        }
        const from = id!.toString("utf8");
        if (this.auth !== null && !this.auth.verify(from, payload!, tag)) {
          this.stats.unauthenticated++;
          continue;
        }
        try {
          for (const m of messages) {
            this.stats.received++;
            this.receiver?.(from, m);
          }
        } catch (err) {
          // A receiver that throws is a bug in the node: crash the process (outside this loop,
          // so it is an uncaught exception) rather than run on with a broken state machine.
          queueMicrotask(() => {
            throw err;
          });
          return;
        }
      }
    } catch (err) {
      if (!this.closed) this.opts.onWarning?.("receive loop ended", { error: String(err) });
    }
  }
}
