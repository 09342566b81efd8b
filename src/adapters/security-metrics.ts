// Prometheus series for hostile or oversized input, on a node's own registry: peer messages
// the node dropped (by reason), client writes refused by an object limit (by limit), and what
// the transport refused before the node saw anything (CURVE/ZAP denials, malformed frames).
// Owns only counting; the node decides what to drop (src/core/validate.ts) and the transport
// what to refuse (src/adapters/zmq-transport.ts, src/adapters/curve.ts).
import { Counter, Gauge, type Registry } from "prom-client";
import type { NodeEvent } from "../core/types.ts";
import { DROP_REASONS } from "../core/validate.ts";

/** Counters the transport keeps (read when /metrics is scraped). */
interface TransportSecurityCounts {
  readonly malformed: number;
  readonly zapDenied: number;
  readonly unauthenticated: number;
}

export class SecurityMetrics {
  private readonly dropped: Counter<"reason">;
  private readonly refused: Counter<"limit">;

  constructor(registry: Registry, transport: () => TransportSecurityCounts) {
    const registers = [registry];
    this.dropped = new Counter({
      name: "mec_peer_messages_dropped_total",
      help: "Peer messages dropped before they touched state, by reason (malformed, forged-sender, unknown-sender, bad-partition, bad-key, bad-request-id, bad-field)",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of DROP_REASONS) this.dropped.inc({ reason }, 0);
    this.refused = new Counter({
      name: "mec_writes_refused_total",
      help: "Client writes refused because the object would exceed a limit (siblings: max_siblings, object-bytes: max_object_bytes)",
      labelNames: ["limit"],
      registers,
    });
    for (const limit of ["siblings", "object-bytes"]) this.refused.inc({ limit }, 0);
    new Gauge({
      name: "mec_transport_malformed_frames",
      help: "ZeroMQ messages received that were not [routing id, framed payload] (dropped)",
      registers,
      collect() {
        this.set(transport().malformed);
      },
    });
    new Gauge({
      name: "mec_transport_zap_denied",
      help: "CURVE connections refused by the ZAP handler (a key that is not a member's)",
      registers,
      collect() {
        this.set(transport().zapDenied);
      },
    });
    new Gauge({
      name: "mec_transport_unauthenticated",
      help: "ZeroMQ messages from a member's connection whose tag does not prove their routing id (dropped)",
      registers,
      collect() {
        this.set(transport().unauthenticated);
      },
    });
  }

  onEvent(event: NodeEvent): void {
    if (event.type === "peer-message-dropped") this.dropped.inc({ reason: event.reason });
    else if (event.type === "write-refused") this.refused.inc({ limit: event.limit });
  }
}
