// What CURVE costs on the transport alone, in this process: two ZmqTransports on loopback
// exchange request/reply pairs (200-byte messages, 1 or more outstanding), with and without CURVE
// (and its per-message tag, src/adapters/peer-auth.ts). Reports round trips per second and the
// process's CPU time per round trip (all threads: libzmq's I/O threads do the encryption), which
// a loaded machine disturbs less than throughput. With 1 outstanding every message is its own
// zmq message (no batching), so the CPU per round trip is the per-message cost.
import { generateKeyPair } from "../../src/adapters/curve-keys.ts";
import { ZmqTransport } from "../../src/adapters/zmq-transport.ts";

export interface TransportMeasure {
  readonly curve: boolean;
  readonly roundTripsPerS: number;
  readonly cpuUsPerRoundTrip: number;
}

/** portA and portB: the cluster ports of the two transports (each also uses port + 1). */
export async function measureTransport(curve: boolean, portA: number, portB: number, roundTrips: number, outstanding: number): Promise<TransportMeasure> {
  const [ida, idb] = [`127.0.0.1:${portA}`, `127.0.0.1:${portB}`];
  const ka = generateKeyPair();
  const kb = generateKeyPair();
  const peerKeys = new Map([[ida, ka.publicKey], [idb, kb.publicKey]]);
  const opts = (selfId: string, port: number, keys: typeof ka) => ({
    selfId, bind: "127.0.0.1", port, peers: [ida, idb], queueMax: 100_000, sendHighWaterMark: 100_000,
    ...(curve ? { curve: { keys, peerKeys } } : {}),
  });
  const a = await ZmqTransport.start(opts(ida, portA, ka));
  const b = await ZmqTransport.start(opts(idb, portB, kb));
  try {
    b.onMessage((from, bytes) => b.send(from, bytes)); // echo
    const payload = new Uint8Array(200).fill(7);
    const run = (count: number): Promise<void> =>
      new Promise((resolve) => {
        let sent = 0;
        let back = 0;
        a.onMessage(() => {
          if (++back === count) return resolve();
          if (sent < count) (a.send(idb, payload), sent++);
        });
        for (; sent < Math.min(outstanding, count); sent++) a.send(idb, payload);
      });
    // Warm-up until connected (the first messages wait for the handshake).
    await run(2000);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await run(roundTrips);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { curve, roundTripsPerS: (roundTrips / wallMs) * 1000, cpuUsPerRoundTrip: (cpu.user + cpu.system) / roundTrips };
  } finally {
    a.close();
    b.close();
  }
}
