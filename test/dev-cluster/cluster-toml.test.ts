// The node configs `mec cluster` writes are TOML documents (written with smol-toml, not by
// string building): any root path survives the round trip, extra keys override the
// generated ones, and the config reader accepts the result.
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.ts";
import { clusterNodeToml, clusterSpecs } from "../../src/dev-cluster/cluster.ts";

describe("clusterNodeToml", () => {
  it("writes a config the reader accepts, whatever characters the paths hold", () => {
    const dir = '/tmp/odd "dir" \\ with = [brackets] # and hash\nnewline';
    const specs = clusterSpecs({ nodes: 3, dir, basePort: 9000, httpBasePort: 9100 });
    const text = clusterNodeToml(specs[1]!, specs, "127.0.0.1", { log_level: "warn", sync: false, partitions: 8 });
    expect(text.startsWith("# Written by `mec cluster`")).toBe(true);
    const cfg = parseConfig(text, "node-2.toml");
    expect(cfg.name).toBe("node-2");
    expect(cfg.root).toBe(specs[1]!.root);
    expect(cfg.port).toBe(9010);
    expect(cfg.httpPort).toBe(9101);
    expect(cfg.logLevel).toBe("warn");
    expect(cfg.sync).toBe(false);
    expect(cfg.partitionCount).toBe(8);
    expect(cfg.peers.map((p) => [p.host, p.port])).toEqual([
      ["127.0.0.1", 9000],
      ["127.0.0.1", 9020],
    ]);
  });

  it("with CURVE keys: the node's key file and every peer's public key", () => {
    const specs = clusterSpecs({ nodes: 2, dir: "/tmp/keys test", basePort: 9000, httpBasePort: 9100 });
    const keys = new Map(specs.map((s, i) => [s.name, String(i).repeat(40)]));
    const cfg = parseConfig(clusterNodeToml(specs[0]!, specs, "127.0.0.1", {}, keys), "node-1.toml");
    expect(cfg.curveKeyFile).toBe(specs[0]!.keyPath);
    expect(cfg.peers.map((p) => [p.port, p.curvePublicKey])).toEqual([[9010, "1".repeat(40)]]);
  });
});
