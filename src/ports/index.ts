// The ports: the only ways a node touches the world. Each has a production adapter
// (src/adapters) and a simulated twin (sim/). Callback style on purpose: the simulator
// completes operations as scheduled events, synchronously, with no promise machinery.
import type { NodeId, StorageOp, StorageResult } from "../core/types.ts";

export interface TimerHandle {
  cancel(): void;
}

export interface ClockPort {
  /**
   * Wall time: milliseconds since the Unix epoch (may be fractional in simulation). It may be
   * off from other machines' clocks and jump forward or backward: the node uses it only for
   * write timestamps (Last-Modified, X-Mec-Timestamp, the LWW mode), never to measure time.
   */
  now(): number;
  /** Monotonic milliseconds (any origin): never jumps; what durations are measured with. Timers run on it. */
  monotonic(): number;
  setTimer(afterMs: number, fire: () => void): TimerHandle;
}

export interface TransportPort {
  /** Fire and forget; delivery is not guaranteed (the node copes with loss). */
  send(to: NodeId, bytes: Uint8Array): void;
  /** Registers the one receiver of incoming peer messages. */
  onMessage(receive: (from: NodeId, bytes: Uint8Array) => void): void;
}

export interface StoragePort {
  /** Executes op; calls done exactly once, possibly later. Writes are durable per the adapter's sync setting. */
  submit(op: StorageOp, done: (result: StorageResult) => void): void;
}

export interface LogPort {
  log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface Ports {
  readonly clock: ClockPort;
  readonly transport: TransportPort;
  readonly storage: StoragePort;
  readonly log: LogPort;
}
