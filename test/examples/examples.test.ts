// The shipped deployment examples (examples/): the Kubernetes manifests validate against the
// Kubernetes API schema (kubernetes-models), the mec commands in the Job and the GitHub Actions
// workflow are ones the CLI accepts, the Dockerfile runs the bin that exists, the StatefulSet's
// config generator writes configs the node's own loader accepts, and the GNU parallel script
// run with local "hosts" merges its shards into one report.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseAllDocuments } from "yaml";
import { Job } from "kubernetes-models/batch/v1/Job";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { Service } from "kubernetes-models/v1/Service";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { parseConfig } from "../../src/config/index.ts";
import { mecEntryArgs } from "../../src/cli/self.ts";
import { buildProgram } from "../../src/cli/main.ts";
import { runMec } from "../cli/run-mec.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), "utf8");
const MODELS: Record<string, new (d: never) => { validate(): void }> = { "batch/v1 Job": Job, "apps/v1 StatefulSet": StatefulSet, "v1 Service": Service, "v1 ConfigMap": ConfigMap };

/** Every document of a manifest file, each validated against its kind's schema. */
function manifests(path: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(read(path)).map((d) => {
    expect(d.errors, path).toEqual([]);
    return d.toJS() as Record<string, unknown>;
  });
  for (const doc of docs) {
    const Model = MODELS[`${String(doc["apiVersion"])} ${String(doc["kind"])}`];
    expect(Model, `${path}: ${String(doc["kind"])}`).toBeDefined();
    new Model!(doc as never).validate(); // throws naming the field
  }
  return docs;
}

/** The argv of `mec ...` in a shell line, with $VARS and ${{ }} expressions given sample values. */
function mecArgv(line: string, vars: Record<string, string>): string[] {
  let s = line.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, "2").replace(/\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/g, "2");
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`"$${k}"`, v).replaceAll(`$${k}`, v);
  const cmd = s.slice(s.indexOf("mec ") + 4).split(/[;>|]/)[0]!;
  return cmd.trim().split(/\s+/).map((w) => w.replace(/^"|"$/g, ""));
}

/** Parses argv with the real program without running it: commander errors throw. */
function acceptedByCli(argv: string[]): string {
  const program = buildProgram({ exitCode: 0 });
  const sim = program.commands.find((c) => c.name() === "sim")!;
  let seen = "";
  for (const c of [sim, ...sim.commands]) c.action(() => void (seen = c.name()));
  program.configureOutput({ writeErr: () => undefined });
  program.parse(argv, { from: "user" });
  return seen;
}

afterEach(() => vi.restoreAllMocks());

describe("shipped examples", () => {
  it("the Kubernetes Job, the StatefulSet and its Services validate against the Kubernetes schema", () => {
    const [job] = manifests("examples/sim-shards/kubernetes-job.yaml") as [{ spec: { completionMode: string; completions: number; parallelism: number } }];
    expect(job.spec).toMatchObject({ completionMode: "Indexed", completions: 8, parallelism: 8 });
    const docs = manifests("examples/kubernetes/statefulset.yaml");
    const headless = docs.find((d) => d["kind"] === "Service" && (d["spec"] as { clusterIP?: string }).clusterIP === "None") as { metadata: { name: string } };
    const set = docs.find((d) => d["kind"] === "StatefulSet") as { spec: { serviceName: string; replicas: number; template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } };
    expect(set.spec.serviceName).toBe(headless.metadata.name);
    const env = set.spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === "MEC_REPLICAS")?.value).toBe(String(set.spec.replicas));
    expect(env.find((e) => e.name === "MEC_SERVICE")?.value).toBe(headless.metadata.name);
    // A schema violation is caught (so the checks above can fail).
    expect(() => new Job({ metadata: { name: "x" }, spec: { completions: "8" as never, template: { spec: { containers: [{ name: "a" }] } } } }).validate()).toThrow(/completions/);
  });

  it("the Job's and the workflow's mec commands are ones the CLI accepts, with 1-based shards", () => {
    const job = manifests("examples/sim-shards/kubernetes-job.yaml")[0] as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    const jobLine = job.spec.template.spec.containers[0]!.args[0]!;
    expect(jobLine).toContain("$((JOB_COMPLETION_INDEX + 1))"); // the index is 0-based, --shard 1-based
    const jobArgv = mecArgv(jobLine, { SEEDS: "10000", SHARDS: "8" });
    expect(jobArgv).toEqual(["sim", "--seeds", "10000", "--shard", "2/8", "--json", "--quiet"]);
    expect(acceptedByCli(jobArgv)).toBe("sim");
    const wf = parseAllDocuments(read("examples/sim-shards/github-actions.yml"))[0]!.toJS() as { env: Record<string, string>; jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; steps: { run?: string }[] }> };
    expect(wf.jobs["shard"]!.strategy!.matrix.shard).toEqual(Array.from({ length: Number(wf.env["SHARDS"]) }, (_, i) => i + 1));
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run).filter((r): r is string => r?.includes("mec ") === true));
    expect(runs).toHaveLength(2);
    expect(acceptedByCli(mecArgv(runs[0]!, wf.env))).toBe("sim");
    expect(acceptedByCli(mecArgv(runs[1]!, wf.env))).toBe("merge");
    expect(() => acceptedByCli(["sim", "--seeds", "10", "--shardd", "1/2"])).toThrow(); // a wrong command does not pass
  });

  it("the Dockerfile builds with npm ci and runs the mec bin that exists, with --config", () => {
    const lines = read("examples/docker/Dockerfile").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
    const froms = lines.filter((l) => l.startsWith("FROM "));
    expect(froms.every((l) => /^FROM node:20[-\w.]*( AS \w+)?$/.test(l))).toBe(true);
    expect(lines.some((l) => /^RUN npm ci\b/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes("npm run build"))).toBe(true);
    for (const l of lines.filter((x) => x.startsWith("COPY ") && !x.includes("--from"))) {
      const src = l.split(/\s+/).slice(1, -1);
      for (const s of src) expect(existsSync(join(ROOT, s)), `${l}: ${s}`).toBe(true);
    }
    const pkg = JSON.parse(read("package.json")) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.scripts["build"]).toBeDefined();
    expect(lines).toContain(`RUN ln -s /app/${pkg.bin["mec"]} /usr/local/bin/mec && mkdir -p /data && chown node:node /data`);
    const entry = JSON.parse(lines.find((l) => l.startsWith("ENTRYPOINT "))!.slice("ENTRYPOINT ".length)) as string[];
    const cmd = JSON.parse(lines.find((l) => l.startsWith("CMD "))!.slice("CMD ".length)) as string[];
    expect(entry).toEqual(["mec"]);
    expect(cmd[0]).toBe("--config");
  });

  it("the StatefulSet's generator writes, for each pod, a config the node's loader accepts: DNS-name addresses, CURVE on", () => {
    const dir = mkdtempSync(join(tmpdir(), "mec-k8s-"));
    const mec = `${process.execPath} ${mecEntryArgs().join(" ")}`;
    const keys = spawnSync(join(ROOT, "examples/kubernetes/make-keys.sh"), ["3", "mec", dir], { cwd: ROOT, encoding: "utf8", env: { ...process.env, MEC: mec }, timeout: 60_000 });
    expect(keys.status, keys.stderr).toBe(0);
    expect(keys.stdout).toContain("kubectl create secret generic mec-curve-keys");
    const ids: string[][] = [];
    for (const pod of ["mec-0", "mec-1", "mec-2"]) {
      const r = spawnSync(process.execPath, [join(ROOT, "examples/kubernetes/mec-k8s-config.mjs")], {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, POD_NAME: pod, POD_NAMESPACE: "db", MEC_REPLICAS: "3", MEC_KEYS_DIR: dir, MEC_PUBLIC_KEYS: join(dir, "public-keys.toml"), MEC_BASE_CONFIG: join(dir, "none.toml") },
      });
      expect(r.status, r.stderr).toBe(0);
      const cfg = parseConfig(r.stdout, join(dir, `${pod}.toml`));
      expect(cfg.bind).toBe(`${pod}.mec.db.svc.cluster.local`);
      expect(cfg.curveKeyFile).toBe(join(dir, `${pod}.key`));
      expect(cfg.peers.every((p) => p.curvePublicKey !== null)).toBe(true);
      ids.push([cfg.bind, ...cfg.peers.map((p) => p.host)].sort());
    }
    expect(ids[0]).toHaveLength(3);
    expect(new Set(ids.map((x) => x.join()))).toHaveProperty("size", 1); // every pod sees the same members
  });

  it.skipIf(spawnSync("parallel", ["--version"]).status !== 0)("the GNU parallel script with local hosts merges its shards into one report", async () => {
    const out = mkdtempSync(join(tmpdir(), "mec-parallel-"));
    const mec = `${process.execPath} ${mecEntryArgs().join(" ")}`;
    const r = spawnSync(join(ROOT, "examples/sim-shards/parallel-ssh.sh"), ["--local", "--seeds", "3", "--shards", "2", "--out", out, "--", "--workers", "1"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, MEC: mec }, timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^seeds=3 \(1\.\.3\) workers=2\n3 seeds, 0 failing, \d+ events/);
    const again = await runMec("sim", "merge", "--json", join(out, "shard-1.json"), join(out, "shard-2.json"));
    expect(JSON.parse(again.out)).toMatchObject({ seeds: 3, shard: null, first: 1, count: 3 });
  }, 150_000);
});
