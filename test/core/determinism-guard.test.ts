// The determinism guard (DESIGN.md "Determinism"): code under src/core must not read wall
// time, ambient randomness or the process, must not schedule its own callbacks, and must
// not import Node built-ins or the production adapters' libraries. Time arrives with each
// input and randomness comes from the node's seeded PRNG, so the same seed gives the same
// trace in the simulator and the same logic runs in production.
//
// How: a small lexer blanks out comments and the contents of string, template and regex
// literals (keeping offsets, so line numbers stay right), then the remaining code is
// searched for banned identifiers; module specifiers (the string after `from`, `import`,
// `import(`) are checked against the banned modules. The self-tests below plant offending
// snippets to show the scanner fails when it should: a guard that never fails is a defect.
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const CORE_DIR = join(import.meta.dirname, "..", "..", "src", "core");
const REPO_ROOT = join(import.meta.dirname, "..", "..");

/**
 * Globals the core must not touch (bare identifiers, or as globalThis.X / globalThis["X"]).
 * Besides these: Math only as Math.name (never .random, never as a value, so no
 * `const { random } = Math`), the global object only as globalThis.name, and no Reflect.
 */
const BANNED_GLOBALS = [
  "Date",
  "performance",
  "setTimeout",
  "setInterval",
  "setImmediate",
  "queueMicrotask",
  "process",
  "crypto",
  "Buffer",
  "require",
] as const;

/** Libraries the core must not import (besides every Node built-in, with or without `node:`). */
const BANNED_PACKAGES = ["zeromq", "classic-level", "fastify", "seedrandom", "pino", "prom-client", "smol-toml", "commander"];

/**
 * The one exception, by exact specifier: seedrandom's alea generator on its own (pure code,
 * seeded explicitly). seedrandom's index stays banned: it loads an ambient-entropy seeder.
 */
const ALLOWED_MODULES = ["seedrandom/lib/alea.js"];

export interface Violation {
  readonly file: string;
  readonly line: number;
  readonly what: string;
}

interface Lexed {
  /** The source with comments and literal contents replaced by spaces (newlines kept). */
  readonly code: string;
  /** String literals by the offset of their opening quote: their raw contents. */
  readonly strings: Map<number, string>;
}

/** Characters after which a `/` starts a regex literal rather than a division. */
const REGEX_PRECEDERS = new Set("(,=:[!&|?{};+-*%<>~^".split(""));
const REGEX_KEYWORDS = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"]);

/** Blanks comments and literal contents, keeping offsets and newlines. */
export function lex(src: string): Lexed {
  const out = src.split("");
  const strings = new Map<number, string>();
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== "\n") out[k] = " ";
  };
  // A stack of open template literals: for each, the brace depth of its current `${ }`.
  const templates: number[] = [];
  let braceDepth = 0;
  let i = 0;

  /** Reads template text from i (just after ` or a closing }) until ` or ${. */
  const readTemplateText = (): void => {
    const start = i;
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") { i += 2; continue; }
      if (c === "`") { blank(start, i); i++; return; }
      if (c === "$" && src[i + 1] === "{") {
        blank(start, i);
        i += 2;
        templates.push(braceDepth);
        braceDepth++;
        return;
      }
      i++;
    }
    blank(start, i);
  };

  /** The last non-space code character before offset `at` and the word ending there, if any. */
  const previous = (at: number): { char: string; word: string } => {
    let k = at - 1;
    while (k >= 0 && /\s/.test(out[k]!)) k--;
    if (k < 0) return { char: "", word: "" };
    let w = k;
    while (w >= 0 && /[A-Za-z_$]/.test(out[w]!)) w--;
    return { char: out[k]!, word: out.slice(w + 1, k + 1).join("") };
  };

  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const end = src.indexOf("\n", i);
      const stop = end < 0 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === '"' || c === "'") {
      const open = i;
      i++;
      while (i < src.length && src[i] !== c && src[i] !== "\n") i += src[i] === "\\" ? 2 : 1;
      strings.set(open, src.slice(open + 1, i));
      blank(open + 1, i);
      i++;
    } else if (c === "`") {
      i++;
      readTemplateText();
    } else if (c === "{") {
      braceDepth++;
      i++;
    } else if (c === "}") {
      braceDepth--;
      i++;
      if (templates.length > 0 && braceDepth === templates[templates.length - 1]) {
        templates.pop();
        readTemplateText();
      }
    } else if (c === "/") {
      const prev = previous(i);
      const isRegex = prev.char === "" || REGEX_PRECEDERS.has(prev.char) || REGEX_KEYWORDS.has(prev.word);
      if (!isRegex) { i++; continue; }
      const open = i;
      i++;
      let inClass = false;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") { i += 2; continue; }
        if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      blank(open + 1, i);
      i++;
    } else {
      i++;
    }
  }
  return { code: out.join(""), strings };
}

function isBannedModule(spec: string): boolean {
  if (ALLOWED_MODULES.includes(spec)) return false;
  if (spec.startsWith("node:")) return true;
  const root = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
  return builtinModules.includes(root) || builtinModules.includes(spec) || BANNED_PACKAGES.includes(root) || root.startsWith("@fastify/");
}

/** Scans one source text; returns every violation with its 1-based line. */
export function scanSource(src: string, file: string): Violation[] {
  const { code, strings } = lex(src);
  const lineOf = (offset: number): number => {
    let line = 1;
    for (let k = 0; k < offset; k++) if (code[k] === "\n") line++;
    return line;
  };
  const found: Violation[] = [];

  // Banned globals: as a bare identifier (not a property `x.Date`), or through globalThis/global/window/self.
  const globals = new RegExp(`(?<![\\w$])(${BANNED_GLOBALS.join("|")})(?![\\w$])`, "g");
  for (const m of code.matchAll(globals)) {
    const before = code.slice(0, m.index).trimEnd();
    const viaGlobal = /(?:^|[^\w$.])(globalThis|global|window|self)\s*\??\.$/.test(before);
    if (before.endsWith(".") && !viaGlobal) continue; // a property named like a global, e.g. msg.process
    found.push({ file, line: lineOf(m.index), what: m[1] === "require" ? "require(...)" : `uses ${m[1]}` });
  }
  // Math: only as `Math.name` with a name other than random. Math.random, globalThis.Math.random,
  // Math["random"], `const { random } = Math` and `const M = Math` (an alias the scanner cannot
  // follow) are all flagged.
  for (const m of code.matchAll(/(?<![\w$])Math(?![\w$])/g)) {
    const before = code.slice(0, m.index).trimEnd();
    const viaGlobal = /(?:^|[^\w$.])(globalThis|global|window|self)\s*\??\.$/.test(before);
    if (before.endsWith(".") && !viaGlobal) continue; // a property named Math, e.g. x.Math
    const after = code.slice(m.index + m[0].length);
    const prop = /^\s*\??\.\s*([\w$]+)/.exec(after);
    if (prop !== null && prop[1] !== "random") continue;
    found.push({ file, line: lineOf(m.index), what: prop !== null ? "uses Math.random" : "uses Math other than as Math.name (Math.random could hide behind it)" });
  }
  // The global object used as a value or indexed (globalThis["Date"], Reflect.get(globalThis, ...),
  // const g = globalThis): the only allowed use is `globalThis.X` with X not banned (checked above).
  for (const m of code.matchAll(/(?<![\w$.])(globalThis|global|window)(?![\w$])/g)) {
    const after = code.slice(m.index + m[0].length);
    const prop = /^\s*\??\.\s*([\w$]+)/.exec(after);
    if (prop !== null) {
      if (prop[1] === "Math" || (BANNED_GLOBALS as readonly string[]).includes(prop[1]!)) continue; // reported above
      continue; // globalThis.somethingHarmless: harmless but pointless; allowed
    }
    const indexed = /^\s*(?:\?\.)?\s*\[\s*(["'`])/.exec(after);
    let name: string | undefined;
    if (indexed !== null) {
      const quoteAt = m.index + m[0].length + indexed[0].length - 1;
      name = strings.get(quoteAt);
    }
    found.push({ file, line: lineOf(m.index), what: name !== undefined ? `uses ${name === "random" ? "Math.random" : name} through ${m[1]}[...]` : `uses ${m[1]} as a value (an indirect way to reach wall time, randomness or the process)` });
  }
  // Reflect reaches anything on anything: the core has no use for it.
  for (const m of code.matchAll(/(?<![\w$.])Reflect(?![\w$])/g)) {
    found.push({ file, line: lineOf(m.index), what: "uses Reflect" });
  }
  // Module specifiers: import ... from "x", export ... from "x", import "x", import("x").
  for (const m of code.matchAll(/(?<![\w$.])(?:from|import)\s*\(?\s*(["'])/g)) {
    const quoteAt = m.index + m[0].length - 1;
    const spec = strings.get(quoteAt);
    if (spec !== undefined && isBannedModule(spec)) found.push({ file, line: lineOf(m.index), what: `imports "${spec}"` });
  }
  return found.sort((a, b) => a.line - b.line);
}

function coreFiles(): string[] {
  return (readdirSync(CORE_DIR, { recursive: true }) as string[])
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(CORE_DIR, f))
    .sort();
}

describe("determinism guard: src/core", () => {
  it("finds the core's source files", () => {
    const files = coreFiles();
    expect(files.length).toBeGreaterThan(5);
    expect(files.some((f) => f.endsWith(join("ring", "ring.ts")))).toBe(true);
  });

  it("no file under src/core uses wall time, timers, ambient randomness, the process or Node/adapter modules", () => {
    const violations = coreFiles().flatMap((f) => scanSource(readFileSync(f, "utf8"), relative(REPO_ROOT, f)));
    const report = violations.map((v) => `${v.file}:${v.line}: ${v.what}`).join("\n");
    expect(report, `src/core must stay deterministic (DESIGN.md):\n${report}`).toBe("");
  });
});

describe("determinism guard: the scanner itself", () => {
  const flags = (src: string): string[] => scanSource(src, "planted.ts").map((v) => `${v.line}: ${v.what}`);

  it.each([
    ["const t = Date.now();", "1: uses Date"],
    ["const d = new Date(0);", "1: uses Date"],
    ["const t = performance.now();", "1: uses performance"],
    ["setTimeout(() => {}, 5);", "1: uses setTimeout"],
    ["const h = setInterval(f, 1);", "1: uses setInterval"],
    ["setImmediate(f);", "1: uses setImmediate"],
    ["queueMicrotask(f);", "1: uses queueMicrotask"],
    ["const x = Math.random();", "1: uses Math.random"],
    ["const x = Math . random ();", "1: uses Math.random"],
    ["if (process.env.X) {}", "1: uses process"],
    ["const u = crypto.randomUUID();", "1: uses crypto"],
    ["const b = Buffer.from([1]);", "1: uses Buffer"],
    ["const fs = require('fs');", "1: require(...)"],
    ["const t = globalThis.Date.now();", "1: uses Date"],
    ["const x = globalThis.Math.random();", "1: uses Math.random"],
    ["const x = globalThis?.Math.random();", "1: uses Math.random"],
    ["const x = Math?.random();", "1: uses Math.random"],
    ['const x = Math["random"]();', "1: uses Math other than as Math.name (Math.random could hide behind it)"],
    ["const { random } = Math;", "1: uses Math other than as Math.name (Math.random could hide behind it)"],
    ["const M = Math; M.random();", "1: uses Math other than as Math.name (Math.random could hide behind it)"],
    ['const D = globalThis["Date"];', "1: uses Date through globalThis[...]"],
    ["const D = globalThis['Date'];", "1: uses Date through globalThis[...]"],
    ['const p = globalThis["process"].env;', "1: uses process through globalThis[...]"],
    ["const k = 'Da' + 'te'; const D = globalThis[k];", "1: uses globalThis as a value (an indirect way to reach wall time, randomness or the process)"],
    ["const g = globalThis; g.Date.now();", "1: uses globalThis as a value (an indirect way to reach wall time, randomness or the process)"],
    ["const e = globalThis.process.env;", "1: uses process"],
    ["const t = global.performance.now();", "1: uses performance"],
    ['import { readFileSync } from "node:fs";', '1: imports "node:fs"'],
    ["import fs from 'fs';", '1: imports "fs"'],
    ['import { readFile } from "fs/promises";', '1: imports "fs/promises"'],
    ['import { createHash } from "crypto";', '1: imports "crypto"'],
    ['import * as zmq from "zeromq";', '1: imports "zeromq"'],
    ['import { ClassicLevel } from "classic-level";', '1: imports "classic-level"'],
    ['import Fastify from "fastify";', '1: imports "fastify"'],
    ['import seedrandom from "seedrandom";', '1: imports "seedrandom"'],
    ['import xor from "seedrandom/lib/xor4096.js";', '1: imports "seedrandom/lib/xor4096.js"'],
    ['import alea from "seedrandom/lib/alea";', '1: imports "seedrandom/lib/alea"'],
    ['export { x } from "node:os";', '1: imports "node:os"'],
    ['import "node:process";', '1: imports "node:process"'],
    ['const m = await import("node:fs");', '1: imports "node:fs"'],
    ["const s = `at ${Date.now()} ms`;", "1: uses Date"],
    ["const s = `${`${ { a: performance.now() }.a }`}`;", "1: uses performance"],
  ])("flags %s", (src, expected) => {
    expect(flags(src)).toEqual([expected]);
  });

  it("flags Reflect.get(globalThis, ...) twice: Reflect, and the global object as a value", () => {
    expect(flags('const p = Reflect.get(globalThis, "process");').sort()).toEqual([
      "1: uses Reflect",
      "1: uses globalThis as a value (an indirect way to reach wall time, randomness or the process)",
    ]);
  });

  it("names the right line", () => {
    const src = ["// header", "/* a", "   block */", "const a = 1;", "", "const t = Date.now();"].join("\n");
    expect(flags(src)).toEqual(["6: uses Date"]);
  });

  it.each([
    ["// Date.now() is forbidden here; time arrives with each input", "a line comment"],
    ["/* never call setTimeout or Math.random */ const x = 1;", "a block comment"],
    ["/**\n * process, crypto, Buffer: none of these.\n */", "a doc comment"],
    ['const msg = "Date and process are words";', "a double-quoted string"],
    ["const msg = 'require(\"fs\") in a string';", "a single-quoted string"],
    ["const msg = `Date ${1 + 1} Buffer`;", "template text"],
    ["const re = /Date|process/g;", "a regex literal"],
    ["const n = a / b / c; const Dated = 1;", "division and a longer identifier"],
    ["const t = input.now; msg.process(); o.Date = 1; x?.crypto;", "properties named like globals"],
    ["const updatedAt = 3; const setTimeoutMs = 4; const processed = true;", "identifiers containing the names"],
    ['import { fnv1a32 } from "../../hash.ts";', "a relative import"],
    ['import type { NodeId } from "../types.ts";', "a type import"],
    ['import { encode } from "@msgpack/msgpack";', "an allowed package"],
    ['import alea from "seedrandom/lib/alea.js";', "seedrandom's alea, the one allowed seedrandom module"],
    ["const enc = new TextEncoder();", "TextEncoder"],
    ["const a = Math.max(1, 2) + Math.floor(3.5) + Math.imul(2, 3);", "Math's pure functions"],
    ["const r = this.rng.random(); const m = stats.Math; o.random = 1;", "properties named random or Math"],
  ])("passes %s (%s)", (src) => {
    expect(flags(src)).toEqual([]);
  });

  it("flags real offending code: this very file, which imports Node modules", () => {
    const self = scanSource(readFileSync(join(import.meta.dirname, "determinism-guard.test.ts"), "utf8"), "self");
    expect(self.map((v) => `${v.line}: ${v.what}`).slice(0, 3)).toEqual(['12: imports "node:fs"', '13: imports "node:module"', '14: imports "node:path"']);
  });

  it("keeps scanning code after a string containing a comment marker", () => {
    expect(flags('const url = "http://x"; const t = Date.now();')).toEqual(["1: uses Date"]);
    expect(flags("const s = '/*'; setTimeout(f, 1); const e = '*/';")).toEqual(["1: uses setTimeout"]);
  });
});
