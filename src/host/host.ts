// The host loop: runs one NodeMachine on a set of ports, shared by production and the
// simulator. It owns the input queue (one input at a time, never re-entrant), executes
// effects through the ports and turns their completions into new inputs. It knows nothing
// of what the node does.
import type { AdminOp, ClientOp, ClientResult, Effect, Input, NodeEvent, NodeMachine } from "../core/types.ts";
import type { Ports, TimerHandle } from "../ports/index.ts";

interface HostHooks {
  /** Every node event (stats, traces, checkers). */
  onEvent?(event: NodeEvent, now: number): void;
  /** Every effect before it is executed (traces). */
  onEffect?(effect: Effect, now: number): void;
}

export class NodeHost {
  private readonly queue: Input[] = [];
  private draining = false;
  private stopped = false;
  private nextClientReqId = 1;
  private readonly pendingReplies = new Map<number, (result: ClientResult) => void>();
  private readonly timers = new Map<number, TimerHandle>();

  constructor(
    readonly node: NodeMachine,
    private readonly ports: Ports,
    private readonly hooks: HostHooks = {},
  ) {
    ports.transport.onMessage((from, bytes) => this.enqueue({ kind: "message", from, bytes }));
  }

  start(): void {
    this.enqueue({ kind: "start" });
  }

  /** Asks the node to serve a client operation; done is called once with its result. */
  request(op: ClientOp, done: (result: ClientResult) => void): void {
    const clientReqId = this.nextClientReqId++;
    this.pendingReplies.set(clientReqId, done);
    this.enqueue({ kind: "client", clientReqId, op });
  }

  /** Hands the node an operator's membership command (leave, remove); its outcome shows in events and logs. */
  admin(op: AdminOp): void {
    this.enqueue({ kind: "admin", op });
  }

  requestAsync(op: ClientOp): Promise<ClientResult> {
    return new Promise((resolve) => this.request(op, resolve));
  }

  /** Stops feeding the node: timers are cancelled, later inputs and completions are ignored. */
  stop(): void {
    this.stopped = true;
    for (const handle of this.timers.values()) handle.cancel();
    this.timers.clear();
    this.queue.length = 0;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  private enqueue(input: Input): void {
    if (this.stopped) return;
    this.queue.push(input);
    if (this.draining) return;
    this.draining = true;
    try {
      let next: Input | undefined;
      while (!this.stopped && (next = this.queue.shift()) !== undefined) {
        const now = this.ports.clock.now();
        const effects = this.node.step({ now, monotonic: this.ports.clock.monotonic(), input: next });
        for (const effect of effects) this.execute(effect, now);
      }
    } finally {
      this.draining = false;
    }
  }

  private execute(effect: Effect, now: number): void {
    this.hooks.onEffect?.(effect, now);
    switch (effect.kind) {
      case "send":
        this.ports.transport.send(effect.to, effect.bytes);
        return;
      case "set-timer": {
        this.timers.get(effect.timerId)?.cancel();
        const { timerId } = effect;
        const handle = this.ports.clock.setTimer(effect.afterMs, () => {
          this.timers.delete(timerId);
          this.enqueue({ kind: "timer", timerId });
        });
        this.timers.set(timerId, handle);
        return;
      }
      case "cancel-timer":
        this.timers.get(effect.timerId)?.cancel();
        this.timers.delete(effect.timerId);
        return;
      case "storage": {
        const { opId } = effect;
        this.ports.storage.submit(effect.op, (result) => this.enqueue({ kind: "storage", opId, result }));
        return;
      }
      case "reply": {
        const done = this.pendingReplies.get(effect.clientReqId);
        this.pendingReplies.delete(effect.clientReqId);
        done?.(effect.result);
        return;
      }
      case "event":
        this.hooks.onEvent?.(effect.event, now);
        return;
      case "log":
        this.ports.log.log(effect.level, effect.msg, effect.fields);
        return;
    }
  }
}
