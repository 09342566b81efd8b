// `node --import tsx bench/profile-summary.ts DIR`: where a bench's server time went, from the
// V8 CPU profiles `npm run bench -- --prof DIR` writes (one per server process and thread).
// Prints the top self-time functions and the self time per layer (by source file: HTTP,
// coordinator/core, msgpack, CURVE/zmq, LevelDB, Node internals, GC, idle), summed over all
// profiles in DIR. JavaScript-side only: libzmq's I/O thread and LevelDB's C++ workers do not
// appear in V8 profiles (compare with the CPU per request the bench prints).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const LAYERS: [string, RegExp][] = [
  ["idle", /^\(idle\)$/],
  ["GC", /^\(garbage collector\)$/],
  ["msgpack", /@msgpack/],
  ["CURVE/zmq", /zeromq|zmq-transport|peer-auth|curve|transport/],
  ["LevelDB", /classic-level|abstract-level|level-storage|level-transcoder|module-error/],
  ["HTTP (fastify, adapters/http)", /fastify|find-my-way|avvio|light-my-request|adapters\/http|pino|fast-json|secure-json|http-api/],
  ["coordinator/core", /src\/core\//],
  ["node-process, adapters (other)", /src\/(node-process|adapters)\//],
  ["start-up (module loading, tsx)", /tsx|esbuild|internal\/modules\/|internal\/bootstrap|cjs-module-lexer|package_json_reader/],
  ["HTTP (fastify, adapters/http)", /^node:_http|^node:internal\/http|^node:net$|^node:internal\/stream_base|^node:internal\/streams|^node:stream/],
  ["Node internals", /^node:|^internal\/|^$/],
];

const STARTUP_FNS = /^(waitForWorker|makeSyncRequest|wrapSafe|compileForInternalLoader|compileSourceTextModule|realpathSync|openFileHandle|fstat|postMessage|handleMessage)$/;

function layerOf(fn: string, url: string): string {
  if (STARTUP_FNS.test(fn) && !/src\/|node_modules\/(?!tsx)/.test(url)) return "start-up (module loading, tsx)";
  for (const [name, re] of LAYERS) if (re.test(name === "idle" || name === "GC" ? fn : url)) return name;
  if (fn === "(program)") return "(program: native, outside JS)";
  return "other";
}

const dir = process.argv[2];
// --last S: only the samples of the last S seconds of each profile (the load phase: a process
// writes its profile when the bench stops it right after the last measurement).
const lastIdx = process.argv.indexOf("--last");
const lastUs = lastIdx > 0 ? Number(process.argv[lastIdx + 1]) * 1e6 : Infinity;
if (dir === undefined) {
  process.stderr.write("usage: bench/profile-summary.ts DIR [--last S]\n");
  process.exit(2);
}
const self = new Map<string, number>();
const byLayer = new Map<string, number>();
let total = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
  const p = JSON.parse(readFileSync(join(dir, f), "utf8")) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const span = p.timeDeltas.reduce((a, b) => a + b, 0);
  let at = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const us = p.timeDeltas[i] ?? 0;
    at += us;
    if (span - at > lastUs) return;
    const { functionName, url, lineNumber } = n.callFrame;
    const short = url.replace(/^file:\/\/.*?\/(node_modules|src|sim|bench)\//, "$1/");
    const key = `${functionName || "(anonymous)"}  ${short}:${lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const layer = layerOf(functionName, url);
    byLayer.set(layer, (byLayer.get(layer) ?? 0) + us);
    total += us;
  });
}
const busy = total - (byLayer.get("idle") ?? 0);
const pct = (us: number, of: number): string => `${((us / of) * 100).toFixed(1).padStart(5)}%`;
console.log(`${(total / 1e6).toFixed(1)} s sampled${Number.isFinite(lastUs) ? ` (last ${lastUs / 1e6} s of each profile)` : ""}, ${(busy / 1e6).toFixed(1)} s not idle (shares below are of the non-idle time)`);
console.log("\nself time per layer");
for (const [l, us] of [...byLayer].filter(([l]) => l !== "idle").sort((a, b) => b[1] - a[1])) console.log(`  ${pct(us, busy)}  ${l}`);
console.log("\ntop self-time functions");
for (const [k, us] of [...self].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${pct(us, busy)}  ${k}`);
