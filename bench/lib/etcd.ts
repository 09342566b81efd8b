// The etcd peer of `npm run bench -- --peer etcd`: a local 3-member etcd cluster from Debian's
// `etcd-server` package (installed with apt-get when the binary is missing), on loopback, on
// free ports, data directories under the given directory, stopped and removed by the caller
// (Target.stop). It is loaded through etcd's v3 JSON gateway: POST /v3/kv/put and
// POST /v3/kv/range with base64 keys and values; a range is linearizable unless asked otherwise
// (the gateway's default, `serializable: false`).
//
// etcd 3.4 (Debian 12's) has no `--unsafe-no-fsync` flag (it came with 3.5). Its no-fsync
// configuration here is the same etcd with its data directory on tmpfs (/dev/shm), where
// fsync returns at once: the durability of `--unsafe-no-fsync` (a process crash loses
// nothing, a power loss loses everything unsynced). A newer etcd on PATH that knows the flag
// gets the flag as well.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { freePortPair, retry, spawnLogged, stopChild, waitUntil, type Protocol, type Target } from "./harness.ts";

const b64 = (s: string | Buffer): string => (typeof s === "string" ? Buffer.from(s) : s).toString("base64");

export const ETCD_PROTOCOL: Protocol = {
  name: "etcd",
  put: (key, value) => ({
    method: "POST",
    path: "/v3/kv/put",
    headers: { "content-type": "application/json" },
    body: `{"key":"${b64(key)}","value":"${b64(value)}"}`,
  }),
  get: (key) => ({ method: "POST", path: "/v3/kv/range", headers: { "content-type": "application/json" }, body: `{"key":"${b64(key)}"}` }),
};

function findEtcd(): string | null {
  for (const p of ["/usr/bin/etcd", "/usr/local/bin/etcd"]) if (existsSync(p)) return p;
  const which = spawnSync("sh", ["-c", "command -v etcd"], { encoding: "utf8" });
  return which.status === 0 && which.stdout.trim() !== "" ? which.stdout.trim() : null;
}

/** The etcd binary; installs Debian's etcd-server (bounded: 5 minutes) when it is missing. */
export function ensureEtcd(log: (s: string) => void): string {
  const found = findEtcd();
  if (found !== null) return found;
  log("etcd not found: apt-get update && apt-get install -y etcd-server ...\n");
  const opts = { stdio: "inherit" as const, timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  execFileSync("apt-get", ["update"], opts);
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "etcd-server"], opts);
  const installed = findEtcd();
  if (installed === null) throw new Error("apt-get installed etcd-server but no etcd binary is on PATH");
  return installed;
}

export function etcdVersion(bin: string): string {
  const out = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
  return /etcd Version: (\S+)/.exec(out)?.[1] ?? "unknown";
}

function knowsNoFsyncFlag(bin: string): boolean {
  const out = spawnSync(bin, ["--help"], { encoding: "utf8", timeout: 10_000 });
  return `${out.stdout}${out.stderr}`.includes("--unsafe-no-fsync");
}

export const TMPFS_DIR = "/dev/shm";

/**
 * Starts `count` etcd members under dir (or under a fresh directory in /dev/shm when noFsync)
 * and waits until every member answers a linearizable range. Returns the target and the data
 * root (to remove after stop).
 */
export async function startEtcdCluster(bin: string, dir: string, count: number, noFsync: boolean): Promise<Target & { dataRoot: string }> {
  const dataRoot = dir;
  mkdirSync(dataRoot, { recursive: true });
  const members: { name: string; client: number; peer: number }[] = [];
  for (let i = 1; i <= count; i++) members.push({ name: `etcd${i}`, client: await freePortPair(), peer: await freePortPair() });
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(",");
  const token = `bench-${process.pid}-${Date.now()}`; // one token for all members: it seeds the cluster ID
  const extra = noFsync && knowsNoFsyncFlag(bin) ? ["--unsafe-no-fsync"] : [];
  const procs = members.map((m) => {
    const log = join(dir, `${m.name}.log`);
    const args = [
      "--name", m.name,
      "--data-dir", join(dataRoot, m.name),
      "--listen-client-urls", `http://127.0.0.1:${m.client}`,
      "--advertise-client-urls", `http://127.0.0.1:${m.client}`,
      "--listen-peer-urls", `http://127.0.0.1:${m.peer}`,
      "--initial-advertise-peer-urls", `http://127.0.0.1:${m.peer}`,
      "--initial-cluster", initialCluster,
      "--initial-cluster-token", token,
      "--initial-cluster-state", "new",
      "--log-level", "warn",
      ...extra,
    ];
    return { child: spawnLogged(args, log, bin), log, url: `http://127.0.0.1:${m.client}` };
  });
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopChild(p.child)));
  };
  try {
    for (const p of procs) {
      await waitUntil(
        async () => {
          const res = await fetch(`${p.url}/v3/kv/range`, { method: "POST", body: ETCD_PROTOCOL.get("__bench_ready__").body ?? "", signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.status === 200;
        },
        `${p.url}/v3/kv/range`,
        p.child,
        p.log,
        60_000,
      );
    }
    await retry(async () => {
      const req = ETCD_PROTOCOL.put("__bench_ready__", Buffer.from("x"));
      const res = await fetch(`${procs[0]!.url}${req.path}`, { method: req.method, body: req.body, headers: req.headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`etcd PUT -> ${res.status}`);
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: procs.map((p) => p.url), pids: procs.map((p) => p.child.pid!), protocol: ETCD_PROTOCOL, stop, dataRoot };
}
