// Writes the TOML config of one MecDB node of a Kubernetes StatefulSet to stdout, from the pod's
// name (its ordinal) and the environment; statefulset.yaml runs it before `mec --config`.
// Every node, this one included, is listed by its stable DNS name through the headless Service
// (POD.SERVICE.NAMESPACE.svc.CLUSTER_DOMAIN), so node ids are the same in every pod and survive
// rescheduling; this pod binds its own name (Kubernetes maps it to the pod's address in
// /etc/hosts). CURVE is on: the pod's key file is KEYS_DIR/POD.key, and every node's public key
// comes from PUBLIC_KEYS (a TOML file: `"mec-0" = "Z85..."`, one line per pod; make-keys.sh
// writes it). The keys of BASE_CONFIG (n, r, w, sync, ...) are copied in.
//
// Environment: POD_NAME (required, e.g. mec-2), MEC_REPLICAS (required), MEC_SERVICE (mec),
// POD_NAMESPACE (default), MEC_CLUSTER_DOMAIN (cluster.local), MEC_PORT (7000; the data
// socket is +1), MEC_HTTP_PORT (8000), MEC_ROOT (/data), MEC_KEYS_DIR (/etc/mec/keys),
// MEC_PUBLIC_KEYS (/etc/mec/public-keys.toml), MEC_BASE_CONFIG (/etc/mec/base.toml, optional).
import { existsSync, readFileSync } from "node:fs";
import { parse, stringify } from "smol-toml";

const env = process.env;
function fail(message) {
  process.stderr.write(`mec-k8s-config: ${message}\n`);
  process.exit(2);
}
const pod = env.POD_NAME ?? fail("POD_NAME is not set (give it from metadata.name)");
const m = /^(.+)-(\d+)$/.exec(pod) ?? fail(`POD_NAME ${JSON.stringify(pod)} is not NAME-ORDINAL`);
const set = m[1];
const replicas = Number(env.MEC_REPLICAS ?? fail("MEC_REPLICAS is not set"));
if (!Number.isInteger(replicas) || replicas < 1) fail(`MEC_REPLICAS must be a positive integer, got ${env.MEC_REPLICAS}`);
const service = env.MEC_SERVICE ?? "mec";
const domain = `${service}.${env.POD_NAMESPACE ?? "default"}.svc.${env.MEC_CLUSTER_DOMAIN ?? "cluster.local"}`;
const port = Number(env.MEC_PORT ?? 7000);
const httpPort = Number(env.MEC_HTTP_PORT ?? 8000);
const keysDir = env.MEC_KEYS_DIR ?? "/etc/mec/keys";
const publicKeysPath = env.MEC_PUBLIC_KEYS ?? "/etc/mec/public-keys.toml";
const basePath = env.MEC_BASE_CONFIG ?? "/etc/mec/base.toml";

const publicKeys = parse(readFileSync(publicKeysPath, "utf8"));
const base = existsSync(basePath) ? parse(readFileSync(basePath, "utf8")) : {};
const names = Array.from({ length: replicas }, (_, i) => `${set}-${i}`);
const node = names.map((name) => {
  const key = publicKeys[name];
  if (typeof key !== "string") fail(`${publicKeysPath} has no public key for ${name}`);
  return { host: `${name}.${domain}`, port, curve_public_key: key };
});
const doc = {
  ...base,
  name: pod,
  port,
  httpport: httpPort,
  root: env.MEC_ROOT ?? "/data",
  bind: `${pod}.${domain}`,
  curve_key_file: `${keysDir}/${pod}.key`,
  node,
};
process.stdout.write(`# Written by mec-k8s-config.mjs for ${pod}\n${stringify(doc)}\n`);
