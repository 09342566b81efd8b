// An opt-in latency trace of one node process, for finding where a request's time goes
// (`npm run bench:trace`). With MEC_LATENCY_TRACE=FILE in the environment, the node appends one
// line per happening to FILE: "<epoch ms, microsecond resolution> <node name> <what>", where
// what is one of
//   req-in OP KEY / req-out OP KEY   the HTTP layer hands a request to the node / gets its result
//   step INPUT MS                   one step of the node (its duration; the line is written at its end)
//   st-submit TYPE ID / st-done TYPE ID   a storage op submitted / completed
//   zsend TO BYTES / zrecv FROM BYTES     a peer message handed to the transport / delivered by it
// Lines are buffered and appended every 200 ms and at exit. Without the variable nothing is
// wrapped and nothing costs. Several nodes may share FILE (short appends); bench/trace.ts
// sorts and reads it.
import { appendFileSync } from "node:fs";
import type { ClientOp, ClientResult, NodeMachine } from "../core/types.ts";
import type { StoragePort, TransportPort } from "../ports/index.ts";

const FLUSH_MS = 200;

export class LatencyTrace {
  private readonly lines: string[] = [];
  private nextOpId = 1;

  private constructor(
    private readonly file: string,
    private readonly name: string,
  ) {
    setInterval(() => this.flush(), FLUSH_MS).unref();
    process.on("exit", () => this.flush());
  }

  /** The trace named by MEC_LATENCY_TRACE, or null (the usual case: no tracing). */
  static fromEnv(name: string): LatencyTrace | null {
    const file = process.env.MEC_LATENCY_TRACE;
    return file === undefined || file === "" ? null : new LatencyTrace(file, name);
  }

  private mark(what: string): void {
    this.lines.push(`${(performance.timeOrigin + performance.now()).toFixed(3)} ${this.name} ${what}`);
  }

  private flush(): void {
    if (this.lines.length > 0) appendFileSync(this.file, this.lines.splice(0).join("\n") + "\n");
  }

  storage(inner: StoragePort): StoragePort {
    return {
      submit: (op, done) => {
        const id = this.nextOpId++;
        this.mark(`st-submit ${op.type} ${id}`);
        inner.submit(op, (result) => {
          this.mark(`st-done ${op.type} ${id}`);
          done(result);
        });
      },
    };
  }

  transport(inner: TransportPort): TransportPort {
    return {
      send: (to, bytes) => {
        this.mark(`zsend ${to} ${bytes.length}`);
        inner.send(to, bytes);
      },
      onMessage: (receive) =>
        inner.onMessage((from, bytes) => {
          this.mark(`zrecv ${from} ${bytes.length}`);
          receive(from, bytes);
        }),
    };
  }

  machine(inner: NodeMachine): NodeMachine {
    const traced: NodeMachine = {
      id: inner.id,
      step: (stamped) => {
        const t0 = performance.now();
        const effects = inner.step(stamped);
        this.mark(`step ${stamped.input.kind} ${(performance.now() - t0).toFixed(3)}`);
        return effects;
      },
    };
    return inner.inspect === undefined ? traced : { ...traced, inspect: () => inner.inspect!() };
  }

  request(inner: (op: ClientOp) => Promise<ClientResult>): (op: ClientOp) => Promise<ClientResult> {
    return async (op) => {
      this.mark(`req-in ${op.type} ${op.key}`);
      const result = await inner(op);
      this.mark(`req-out ${op.type} ${op.key}`);
      return result;
    };
  }
}
