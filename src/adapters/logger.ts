// Structured logs with pino (the logger Fastify uses): one JSON line per event on stdout,
// every line carrying the node's name and id. pinoLogPort adapts a pino logger to the node's
// LogPort, so the node's own log effects land in the same stream as the HTTP server's.
import { pino, type Logger, type LevelWithSilent } from "pino";
import type { LogPort } from "../ports/index.ts";

interface LoggerOptions {
  readonly level: LevelWithSilent;
  /** Bound into every line. */
  readonly bindings?: Readonly<Record<string, unknown>>;
  /** Where lines go; default stdout (fd 1), written synchronously so a crash loses no line. */
  readonly destination?: NodeJS.WritableStream | number;
}

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? 1;
  const stream = typeof dest === "number" ? pino.destination({ dest, sync: true }) : dest;
  const logger = pino({ level: opts.level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  return opts.bindings ? logger.child(opts.bindings) : logger;
}

export function pinoLogPort(logger: Logger): LogPort {
  return {
    log(level, msg, fields) {
      if (fields) logger[level](fields, msg);
      else logger[level](msg);
    },
  };
}
