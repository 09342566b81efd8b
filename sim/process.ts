// One simulated machine: its storage (which outlives the process), the current node process
// (a NodeHost on simulated ports, or none while down), and its lifecycle faults: process
// crash, machine crash, pause / resume, data wipe, restart. Every callback into the node is
// tied to the process epoch, so nothing from a crashed incarnation reaches the next one;
// while paused, inputs (messages, timers, storage completions, client requests) wait in order.
import type { AdminOp, ClientOp, ClientResult, Effect, NodeConfig, NodeEvent, NodeId, NodeMachine, StorageOp } from "../src/core/types.ts";
import type { MintedDot } from "./cluster.ts";
import type { Ports } from "../src/ports/index.ts";
import { NodeHost } from "../src/host/host.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SimNetwork } from "./network.ts";
import type { SimStorage } from "./storage.ts";
import type { SystemUnderTest } from "./sut.ts";
import type { Tracer } from "./trace.ts";
import type { NodeClock } from "./clock.ts";

/** What a client hears back: the node's result, or that the process died / was never reachable. */
export type ClientOutcome = ClientResult | { readonly ok: false; readonly type: "crashed" | "refused" };

interface ProcessHooks {
  onNodeEvent(node: NodeId, event: NodeEvent, nowMs: number): void;
}

export class SimProcess {
  private host: NodeHost | null = null;
  private epoch = 0;
  private paused = false;
  private held: (() => void)[] = [];
  private receiver: ((from: NodeId, bytes: Uint8Array) => void) | null = null;
  private readonly pendingClient = new Map<number, (outcome: ClientOutcome) => void>();
  private nextClientId = 1;
  boots = 0;
  /** Dots minted by the current process that have not yet left its memory (see MintedDot.retracted). */
  private volatileMints: MintedDot[] = [];
  private lastTimerId = -1;

  constructor(
    readonly id: NodeId,
    readonly storage: SimStorage,
    private readonly sched: Scheduler,
    private readonly network: SimNetwork,
    private readonly tracer: Tracer,
    private readonly sut: SystemUnderTest,
    private readonly hooks: ProcessHooks,
    /** This machine's wall clock (timers and monotonic time stay on scheduler time). */
    readonly clock: NodeClock,
  ) {}

  get isUp(): boolean {
    return this.host !== null;
  }

  /** The running node (read-only use: inspection), or null while down. */
  get machine(): NodeMachine | null {
    return this.host?.node ?? null;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Starts a new process on the existing storage. */
  boot(config: NodeConfig): void {
    if (this.host !== null) throw new Error(`${this.id} is already up`);
    this.epoch++;
    this.boots++;
    const epoch = this.epoch;
    const sched = this.sched;
    const ports: Ports = {
      clock: {
        now: () => this.clock.wallAt(sched.now),
        monotonic: () => sched.now,
        setTimer: (afterMs, fire) => {
          // The host reports the set-timer effect (onEffect) just before calling this.
          const timerId = this.lastTimerId;
          const event = sched.after(afterMs, () => {
            if (this.epoch !== epoch) return;
            this.run(() => {
              if (this.tracer.on) this.tracer.emit(sched.now, "timer", this.id, { timerId });
              fire();
            });
          });
          return { cancel: () => event.cancel() };
        },
      },
      transport: {
        send: (to, bytes) => this.network.send(this.id, to, bytes),
        onMessage: (receive) => {
          this.receiver = receive;
        },
      },
      storage: {
        submit: (op, done) =>
          this.storage.submit(op, (result) => {
            if (this.volatileMints.length > 0 && this.epoch === epoch) this.escapeByWrite(op);
            if (this.epoch !== epoch) return;
            if (this.paused) this.held.push(() => done(result));
            else done(result);
          }),
      },
      log: {
        log: (level, msg, fields) => {
          if ((level === "error" || level === "warn") && this.tracer.on) this.tracer.emit(sched.now, "log", this.id, { level, msg, fields });
        },
      },
    };
    const node = this.sut.createNode(config);
    this.host = new NodeHost(node, ports, {
      // Events are recorded at true (scheduler) time, not the node's skewed wall time.
      onEvent: (event) => this.hooks.onNodeEvent(this.id, event, sched.now),
      onEffect: (effect) => {
        if (effect.kind === "set-timer") this.lastTimerId = effect.timerId;
        if (this.volatileMints.length > 0) this.escapeByEffect(effect);
      },
    });
    if (this.tracer.on) this.tracer.emit(sched.now, "boot", this.id, { seed: config.seed, boot: this.boots });
    this.host.start();
  }

  noteMint(rec: MintedDot): void {
    this.volatileMints.push(rec);
  }

  // A minted dot escapes the process's memory when a durable write, a message or a client
  // reply may carry it. Conservative: any written or sent bytes containing the actor's name.
  private escapeWhere(carries: (m: MintedDot) => boolean): void {
    this.volatileMints = this.volatileMints.filter((m) => !carries(m));
  }

  private escapeByWrite(op: StorageOp): void {
    const values = op.type === "put" ? [op.value] : op.type === "batch" ? op.puts.map(([, v]) => v) : [];
    this.escapeWhere((m) => values.some((v) => containsText(v, m.actor)));
  }

  private escapeByEffect(effect: Effect): void {
    if (effect.kind === "send") this.escapeWhere((m) => containsText(effect.bytes, m.actor));
    else if (effect.kind === "reply") {
      const r = effect.result;
      if (!r.ok) return;
      const set = r.set;
      this.escapeWhere((m) => (r.type !== "get" && r.dot.actor === m.actor && r.dot.counter === m.counter) || (set !== null && set.siblings.some((s) => s.dot.actor === m.actor)) || (set?.clock.has(m.actor) ?? false));
    }
  }

  /** A message arrived from the network; false when there is no process to take it. */
  receive(from: NodeId, bytes: Uint8Array): boolean {
    if (this.host === null) return false;
    if (this.paused) {
      this.held.push(() => this.take(from, bytes));
      return true;
    }
    this.take(from, bytes);
    return true;
  }

  private take(from: NodeId, bytes: Uint8Array): void {
    this.network.noteReceived(this.id, from, bytes);
    this.receiver?.(from, bytes);
  }

  /** A client request to this node. */
  request(op: ClientOp, done: (outcome: ClientOutcome) => void): void {
    if (this.host === null) {
      done({ ok: false, type: "refused" });
      return;
    }
    const id = this.nextClientId++;
    this.pendingClient.set(id, done);
    const host = this.host;
    this.run(() => {
      host.request(op, (result) => {
        const cb = this.pendingClient.get(id);
        if (cb === undefined) return;
        this.pendingClient.delete(id);
        cb(result);
      });
    });
  }

  /** Runs an input now, or holds it while paused. */
  private run(fn: () => void): void {
    if (this.paused) this.held.push(fn);
    else fn();
  }

  /** An operator's membership command (leave, remove); false when there is no process to take it. */
  admin(op: AdminOp): boolean {
    if (this.host === null) return false;
    const host = this.host;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "admin", this.id, { op });
    this.run(() => host.admin(op));
    return true;
  }

  pause(): void {
    if (this.host === null || this.paused) return;
    this.paused = true;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "pause", this.id);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "resume", this.id);
    const held = this.held;
    this.held = [];
    const epoch = this.epoch;
    for (const fn of held) {
      if (this.epoch !== epoch || this.paused) {
        if (this.paused) this.held.push(fn);
        continue;
      }
      fn();
    }
  }

  /**
   * Stops the process. machine=true also loses storage writes not yet completed, and with
   * loseUnsynced (sync = false only) a random suffix of the completed but unsynced ones.
   */
  crash(machine: boolean, loseUnsynced = false, traceAs?: "exit"): void {
    if (this.host === null) return;
    this.host.stop();
    this.host = null;
    this.receiver = null;
    this.epoch++;
    this.paused = false;
    this.held = [];
    const lost = machine ? this.storage.crashMachine(loseUnsynced) : (this.storage.crashProcess(), 0);
    // Dots still only in memory die with a machine; after a process crash their writes land.
    if (machine) for (const m of this.volatileMints) m.retracted = true;
    this.volatileMints = [];
    if (this.tracer.on) this.tracer.emit(this.sched.now, traceAs ?? (machine ? "machine-crash" : "crash"), this.id, { lostWrites: lost });
    const pending = [...this.pendingClient.values()];
    this.pendingClient.clear();
    for (const cb of pending) cb({ ok: false, type: "crashed" });
  }

  /** Crash (machine) and lose all data; the caller reboots later. */
  wipe(): void {
    this.crash(true);
    this.storage.wipe();
    if (this.tracer.on) this.tracer.emit(this.sched.now, "wipe", this.id);
  }
}

const textEncoder = new TextEncoder();
const needleCache = new Map<string, Uint8Array>();

/** Whether bytes contain the UTF-8 encoding of text (naive search; needles are short). */
function containsText(bytes: Uint8Array, text: string): boolean {
  let needle = needleCache.get(text);
  if (needle === undefined) {
    needle = textEncoder.encode(text);
    needleCache.set(text, needle);
  }
  const n = needle.length;
  const first = needle[0];
  outer: for (let i = 0; i + n <= bytes.length; i++) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < n; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
