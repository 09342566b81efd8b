import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CONFIG_DEFAULTS, ConfigError, KEY_SPECS, ensureRootDir, loadConfigFile, nodeIdOf, parseConfig, toNodeConfig } from "../../src/config/index.ts";

/** The example config of the original MecDB README, verbatim (trailing spaces included). */
const ORIGINAL_EXAMPLE = `# name of instance must be unique in cluster.
name = "apple-juice-93"
# on which the cluster communicates
port = 7000
# on which the HTTP server runs
httpport = 3000
# created if it doesn't already exist
root = "/path/to/leveldb/root/directory"

# then a list of other known nodes in the cluster (I recommend 3 total at this stage)
[[node]]
    host = "127.0.0.1"  
    port = 8000
[[node]]
    host = "127.0.0.1"
    port = 9000
`;

const tmp = mkdtempSync(join(tmpdir(), "mec-config-test-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const FOUR_PEERS = [1, 2, 3, 4].map((p) => `[[node]]\nhost = "127.0.0.9"\nport = ${p}\n`).join("");
const MINIMAL = `name = "a"\nport = 7000\nhttpport = 3000\nroot = "/tmp/x"\n`;

/** Parses `text`, expecting a ConfigError; returns its message. */
function errorOf(text: string, source = "config.toml"): ConfigError {
  try {
    parseConfig(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

describe("the original README's example", () => {
  it("parses verbatim, with every optional key at its default", () => {
    const cfg = parseConfig(ORIGINAL_EXAMPLE, "/etc/mec/config.toml");
    expect(cfg.name).toBe("apple-juice-93");
    expect(cfg.port).toBe(7000);
    expect(cfg.httpPort).toBe(3000);
    expect(cfg.root).toBe("/path/to/leveldb/root/directory");
    expect(cfg.peers).toEqual([{ host: "127.0.0.1", port: 8000, curvePublicKey: null }, { host: "127.0.0.1", port: 9000, curvePublicKey: null }]);
    expect(cfg.source).toBe("/etc/mec/config.toml");
    for (const [field, value] of Object.entries(CONFIG_DEFAULTS)) expect(cfg[field as keyof typeof cfg], field).toEqual(value);
  });

  it("loads from a file with root in a temporary directory, and maps to a NodeConfig", () => {
    const root = join(tmp, "example-root");
    const file = join(tmp, "example.toml");
    writeFileSync(file, ORIGINAL_EXAMPLE.replace("/path/to/leveldb/root/directory", root));
    const cfg = loadConfigFile(file);
    expect(cfg.root).toBe(root);
    expect(cfg.source).toBe(file);

    const node = toNodeConfig(cfg, 42);
    expect(node).toEqual({
      id: "127.0.0.1:7000",
      name: "apple-juice-93",
      members: ["127.0.0.1:7000", "127.0.0.1:8000", "127.0.0.1:9000"],
      n: 3,
      r: 2,
      w: 2,
      partitionCount: 64,
      mode: "dvv",
      seed: 42,
      requestTimeoutMs: 2000,
      heartbeatIntervalMs: 200,
      suspectAfterMs: 800,
      handoffIntervalMs: 1000,
      antiEntropyIntervalMs: 10000,
      reapDelayMs: 3000,
      syncWrites: true,
      bugs: [],
      join: true,
      limits: { maxKeyBytes: 512, siblingsWarn: 25, siblingsMax: 100, objectBytesWarn: 2097152, objectBytesMax: 8388608 },
    });
  });
});

describe("defaults and optional keys", () => {
  it("documents the defaults", () => {
    expect(CONFIG_DEFAULTS).toEqual({
      bind: "127.0.0.1",
      n: 3,
      r: 2,
      w: 2,
      partitionCount: 64,
      sync: true,
      mode: "dvv",
      requestTimeoutMs: 2000,
      heartbeatIntervalMs: 200,
      suspectAfterMs: 800,
      handoffIntervalMs: 1000,
      antiEntropyIntervalMs: 10000,
      reapDelayMs: 3000,
      maxBodyBytes: 1048576,
      maxKeyBytes: 512,
      logLevel: "info",
      curveKeyFile: null,
      allowInsecure: false,
      join: false,
      maxMessageBytes: 67108864,
      warnSiblings: 25,
      maxSiblings: 100,
      warnObjectBytes: 2097152,
      maxObjectBytes: 8388608,
      httpRequestTimeoutMs: 30000,
      httpIdleTimeoutMs: 10000,
      httpTlsCertFile: null,
      httpTlsKeyFile: null,
      httpAuthTokensFile: null,
    });
  });

  it("reads every optional key", () => {
    const cfg = parseConfig(
      `${MINIMAL}bind = "127.0.0.2"\nn = 5\nr = 3\nw = 4\npartitions = 128\nsync = false\nmode = "lww"\nrequest_timeout_ms = 500\nheartbeat_interval_ms = 50\nsuspect_after_ms = 300\nhandoff_interval_ms = 700\nanti_entropy_interval_ms = 0\nreap_delay_ms = -1\nmax_body_bytes = 10\nmax_key_bytes = 20\nlog_level = "debug"\n${FOUR_PEERS}`,
      "c.toml",
    );
    expect(cfg.notices).toEqual([]);
    expect(cfg).toMatchObject({
      bind: "127.0.0.2", n: 5, r: 3, w: 4, partitionCount: 128, sync: false, mode: "lww", requestTimeoutMs: 500,
      heartbeatIntervalMs: 50, suspectAfterMs: 300, handoffIntervalMs: 700, antiEntropyIntervalMs: 0, reapDelayMs: -1,
      maxBodyBytes: 10, maxKeyBytes: 20, logLevel: "debug",
    });
    const node = toNodeConfig(cfg, 1);
    expect(node.id).toBe("127.0.0.2:7000");
    expect(node.members).toEqual(["127.0.0.2:7000", "127.0.0.9:1", "127.0.0.9:2", "127.0.0.9:3", "127.0.0.9:4"]);
    expect(node.reapDelayMs).toBeNull();
    expect(node.syncWrites).toBe(false);
    expect(node.antiEntropyIntervalMs).toBe(0);
  });

  it("caps n, r and w at the number of members, with one notice per capped key", () => {
    const single = parseConfig(MINIMAL, "c.toml");
    expect(single).toMatchObject({ n: 1, r: 1, w: 1 });
    expect(single.notices).toEqual([
      "n = 3 is more than the 1 node of the cluster: using n = 1",
      "r = 2 is more than the 1 node of the cluster: using r = 1",
      "w = 2 is more than the 1 node of the cluster: using w = 1",
    ]);
    const two = parseConfig(`${MINIMAL}[[node]]\nhost = "127.0.0.1"\nport = 9000\n`, "c.toml");
    expect(two).toMatchObject({ n: 2, r: 2, w: 2 });
    expect(two.notices).toEqual(["n = 3 is more than the 2 nodes of the cluster: using n = 2"]);
    const three = parseConfig(`${MINIMAL}[[node]]\nhost = "127.0.0.1"\nport = 9000\n[[node]]\nhost = "127.0.0.1"\nport = 9100\n`, "c.toml");
    expect(three).toMatchObject({ n: 3, r: 2, w: 2, notices: [] });
    // Explicit values are still validated as written first: r > n is an error, not a cap.
    expect(() => parseConfig(`${MINIMAL}n = 2\nr = 3\n`, "c.toml")).toThrow(/key "r": must be at most n \(2\)/);
  });

  it("drops this node from [[node]] (matching bind:port) and builds sorted unique members", () => {
    const cfg = parseConfig(`${MINIMAL}[[node]]\nhost = "127.0.0.1"\nport = 9000\n[[node]]\nhost = "127.0.0.1"\nport = 7000\n[[node]]\nhost = "10.0.0.2"\nport = 7000\n`, "c.toml");
    expect(cfg.peers).toEqual([{ host: "127.0.0.1", port: 9000, curvePublicKey: null }, { host: "10.0.0.2", port: 7000, curvePublicKey: null }]);
    expect(toNodeConfig(cfg, 0).members).toEqual(["10.0.0.2:7000", "127.0.0.1:7000", "127.0.0.1:9000"]);
    expect(nodeIdOf("h", 1)).toBe("h:1");
  });

  it("resolves a relative root against the config file's directory", () => {
    const dir = join(tmp, "rel");
    mkdirSync(dir);
    writeFileSync(join(dir, "node.toml"), MINIMAL.replace('"/tmp/x"', '"data/leveldb"'));
    const cfg = loadConfigFile(join(dir, "node.toml"));
    expect(cfg.root).toBe(join(dir, "data", "leveldb"));
    ensureRootDir(cfg);
    expect(() => ensureRootDir(cfg)).not.toThrow(); // idempotent
    expect(readFileSync(join(dir, "node.toml"), "utf8")).toContain("data/leveldb");
  });
});

describe("bad configs give a ConfigError naming the file, the key and the problem", () => {
  const cases: [string, string, RegExp][] = [
    ["missing name", MINIMAL.replace('name = "a"\n', ""), /^config\.toml: key "name": required but missing/],
    ["missing port", MINIMAL.replace("port = 7000\n", ""), /key "port": required but missing/],
    ["missing httpport", MINIMAL.replace("httpport = 3000\n", ""), /key "httpport": required but missing/],
    ["missing root", MINIMAL.replace('root = "/tmp/x"\n', ""), /key "root": required but missing/],
    ["httpport a string", MINIMAL.replace("httpport = 3000", 'httpport = "abc"'), /^config\.toml: key "httpport": expected an integer 1-65535, got "abc"$/],
    ["port a float", MINIMAL.replace("port = 7000", "port = 7000.0"), /key "port": expected an integer 1-65534, got 7000\.0 \(a float\)/],
    ["port 0", MINIMAL.replace("port = 7000", "port = 0"), /key "port": expected an integer 1-65534, got 0/],
    ["port 65535 (port + 1 must be valid)", MINIMAL.replace("port = 7000", "port = 65535"), /key "port": expected an integer 1-65534, got 65535/],
    ["httpport 70000", MINIMAL.replace("httpport = 3000", "httpport = 70000"), /key "httpport": expected an integer 1-65535, got 70000/],
    ["httpport == port", MINIMAL.replace("httpport = 3000", "httpport = 7000"), /key "httpport": must differ from port \(7000\)/],
    ["httpport == port + 1", MINIMAL.replace("httpport = 3000", "httpport = 7001"), /key "httpport": must differ from port \+ 1 \(7001/],
    ["empty name", MINIMAL.replace('name = "a"', 'name = ""'), /key "name": expected a non-empty string, got ""/],
    ["root a number", MINIMAL.replace('root = "/tmp/x"', "root = 5"), /key "root": expected a non-empty string, got 5/],
    ["unknown top-level key", `${MINIMAL}colour = "blue"\n`, /key "colour": unknown key \(known keys: name, port, httpport/],
    ["misspelt key", `${MINIMAL}http_port = 3001\n`, /key "http_port": unknown key \(did you mean "httpport"\?\)/],
    ["unknown table", `${MINIMAL}[extra]\na = 1\n`, /key "extra": unknown key/],
    ["n = 0", `${MINIMAL}n = 0\n`, /key "n": expected an integer 1-64, got 0/],
    ["r > n", `${MINIMAL}n = 2\nr = 3\n`, /key "r": must be at most n \(2\), got 3/],
    ["w > n", `${MINIMAL}n = 1\nr = 1\nw = 2\n`, /key "w": must be at most n \(1\), got 2/],
    ["r = 0", `${MINIMAL}r = 0\n`, /key "r": expected an integer 1-64, got 0/],
    ["partitions 0", `${MINIMAL}partitions = 0\n`, /key "partitions": expected an integer 1-65536, got 0/],
    ["partitions too many", `${MINIMAL}partitions = 65537\n`, /key "partitions": expected an integer 1-65536/],
    ["partitions below the node count", `${MINIMAL}partitions = 1\n[[node]]\nhost = "h"\nport = 1\n`, /key "partitions": must be at least the number of nodes \(2/],
    ["sync a string", `${MINIMAL}sync = "yes"\n`, /key "sync": expected true or false, got "yes"/],
    ["bad mode", `${MINIMAL}mode = "vclock"\n`, /key "mode": expected one of "dvv", "lww", "client-vclock", got "vclock"/],
    ["bad log level", `${MINIMAL}log_level = "loud"\n`, /key "log_level": expected one of "trace"/],
    ["negative timeout", `${MINIMAL}request_timeout_ms = -5\n`, /key "request_timeout_ms": expected an integer 1-86400000, got -5/],
    ["reap delay below -1", `${MINIMAL}reap_delay_ms = -2\n`, /key "reap_delay_ms": expected an integer from -1 to 31536000000, got -2/],
    ["anti-entropy negative", `${MINIMAL}anti_entropy_interval_ms = -1\n`, /key "anti_entropy_interval_ms": expected an integer 0-/],
    ["max_body_bytes a string", `${MINIMAL}max_body_bytes = "1MB"\n`, /key "max_body_bytes": expected an integer 0-1073741824, got "1MB"/],
    ["max_key_bytes 0", `${MINIMAL}max_key_bytes = 0\n`, /key "max_key_bytes": expected an integer 1-65536, got 0/],
    ["bind empty", `bind = ""\n${MINIMAL}`, /key "bind": expected a non-empty string/],
    ["a date value", `${MINIMAL}n = 1979-05-27\n`, /key "n": expected an integer 1-64, got a date/],
    ["unknown key in [[node]]", `${MINIMAL}[[node]]\nhost = "h"\nport = 8000\nweight = 2\n`, /key "node\[1\]\.weight": unknown key \(known keys: host, port, curve_public_key\)/],
    ["misspelt key in [[node]]", `${MINIMAL}[[node]]\nhost = "h"\nport = 8000\n[[node]]\nhots = "h"\nport = 9000\n`, /key "node\[2\]\.hots": unknown key \(did you mean "host"\?\)/],
    ["[[node]] without port", `${MINIMAL}[[node]]\nhost = "h"\n`, /key "node\[1\]\.port": required but missing/],
    ["[[node]] without host", `${MINIMAL}[[node]]\nport = 8000\n`, /key "node\[1\]\.host": required but missing/],
    ["[[node]] port a string", `${MINIMAL}[[node]]\nhost = "h"\nport = "8000"\n`, /key "node\[1\]\.port": expected an integer 1-65534, got "8000"/],
    ["[[node]] listed twice", `${MINIMAL}[[node]]\nhost = "h"\nport = 8000\n[[node]]\nhost = "h"\nport = 8000\n`, /key "node\[2\]": duplicate node h:8000/],
    ["a public bind without keys", `${MINIMAL}bind = "0.0.0.0"\n`, /key "bind": "0\.0\.0\.0" is beyond loopback but curve_key_file is not set.*allow_insecure = true/],
    ["a peer without its public key", `${MINIMAL}curve_key_file = "k"\n[[node]]\nhost = "h"\nport = 8000\n`, /key "node\[1\]\.curve_public_key": required when curve_key_file is set/],
    ["a public key without curve_key_file", `${MINIMAL}[[node]]\nhost = "h"\nport = 8000\ncurve_public_key = "${"a".repeat(40)}"\n`, /curve_key_file is not set/],
    ["a malformed public key", `${MINIMAL}curve_key_file = "k"\n[[node]]\nhost = "h"\nport = 8000\ncurve_public_key = "short"\n`, /expected a Z85 CURVE public key/],
    ["max_siblings below warn_siblings", `${MINIMAL}warn_siblings = 10\nmax_siblings = 5\n`, /key "max_siblings": must be at least warn_siblings \(10\)/],
    ["a TLS cert without its key", `${MINIMAL}http_tls_cert_file = "c.pem"\n`, /key "http_tls_key_file": http_tls_cert_file and http_tls_key_file go together/],
    ["node as a plain value", `${MINIMAL}node = 5\n`, /key "node": expected an array of tables/],
    ["node as an array of numbers", `${MINIMAL}node = [1]\n`, /key "node\[1\]": expected a table with host and port, got 1/],
  ];

  it.each(cases)("%s", (_label, text, pattern) => {
    const e = errorOf(text);
    expect(e.message).toMatch(pattern);
    expect(e.message.startsWith("config.toml: ")).toBe(true);
    expect(e.source).toBe("config.toml");
    expect(e.key).not.toBeNull();
    expect(e.message).toContain(`key "${e.key}"`);
  });

  it("a TOML syntax error carries smol-toml's line and column", () => {
    const e = errorOf(`name = "a"\nport = \nhttpport = 3000\n`);
    expect(e.message).toMatch(/^config\.toml: line 2, column 8: invalid TOML: /);
    expect(e.key).toBeNull();
    expect(e.detail).toContain("port =");
  });

  it("a duplicated key is a TOML error", () => {
    expect(errorOf(`${MINIMAL}port = 7001\n`).message).toMatch(/^config\.toml: line 5, column \d+: invalid TOML/);
  });

  it("a missing file names the path", () => {
    const path = join(tmp, "does-not-exist.toml");
    expect(() => loadConfigFile(path)).toThrow(ConfigError);
    expect(() => loadConfigFile(path)).toThrow(`${path}: cannot read the config file: no such file`);
  });

  it("a directory given as the config file names the path", () => {
    expect(() => loadConfigFile(tmp)).toThrow(`${tmp}: cannot read the config file: is a directory, not a file`);
  });

  it("a root that exists but is a file is rejected", () => {
    const notDir = join(tmp, "a-file");
    writeFileSync(notDir, "x");
    const file = join(tmp, "root-is-file.toml");
    writeFileSync(file, MINIMAL.replace('"/tmp/x"', JSON.stringify(notDir)));
    expect(() => loadConfigFile(file)).toThrow(`${file}: key "root": ${notDir} exists and is not a directory`);
  });
});

describe("security keys", () => {
  it("a public bind starts with curve_key_file or allow_insecure; file keys resolve against the config's directory", () => {
    const keyed = parseConfig(`${MINIMAL}bind = "0.0.0.0"\ncurve_key_file = "keys/a.key"\nhttp_auth_tokens_file = "/etc/tokens"\n`, "/etc/mec/c.toml");
    expect(keyed.curveKeyFile).toBe("/etc/mec/keys/a.key");
    expect(keyed.httpAuthTokensFile).toBe("/etc/tokens");
    expect(parseConfig(`${MINIMAL}bind = "10.1.2.3"\nallow_insecure = true\n`, "c.toml").allowInsecure).toBe(true);
    expect(parseConfig(`${MINIMAL}bind = "127.0.0.5"\n`, "c.toml").curveKeyFile).toBeNull();
  });
});

describe("the config reference (README.md)", () => {
  it("lists every key with its default", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "README.md"), "utf8");
    for (const spec of KEY_SPECS) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${spec.toml}\` |`));
      expect(row, `README row for ${spec.toml}`).toBeDefined();
      if (!spec.required) {
        const def = CONFIG_DEFAULTS[spec.field as keyof typeof CONFIG_DEFAULTS];
        expect(row, spec.toml).toContain(`\`${typeof def === "string" ? JSON.stringify(def) : String(def)}\``);
      }
    }
    expect(readme).toContain("[[node]]");
  });
});
