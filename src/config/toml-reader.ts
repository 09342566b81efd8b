// The one strict TOML reader of MecDB: node configs (config.ts) and simulator scenarios
// (sim/scenario.ts) are both parsed and validated here, so both refuse the same mistakes with
// messages of one style: `FILE: key "cluster.nodes": expected an integer 1-16, got 3.0 (a float)`.
// Owns: parsing (integers kept apart from floats: a TOML integer is a bigint, 3.0 is a
// float and is not an integer), value kinds and their checks, how a bad value is shown, and
// the unknown-key check with a "did you mean" hint. Must not know: what any key means; the
// caller names its keys, kinds and defaults and supplies its own error class.
import { parse, TomlError } from "smol-toml";

export type Table = Record<string, unknown>;

/** What a value must be. Integers come from TOML integers only (never from a float like 3.0). */
export type Kind = StringKind | IntegerKind | NumberKind | BooleanKind | EnumKind;
interface StringKind { readonly type: "string"; readonly nonEmpty: boolean }
interface IntegerKind { readonly type: "integer"; readonly min: number; readonly max: number }
interface NumberKind { readonly type: "number"; readonly min: number; readonly max: number }
interface BooleanKind { readonly type: "boolean" }
interface EnumKind { readonly type: "enum"; readonly values: readonly string[] }

/** Builds the caller's error from a message, the key it names (null: the whole file) and extra lines. */
export type ErrorFactory = (message: string, key: string | null, detail: string | null) => Error;

/** Parses TOML text; a syntax error becomes `SOURCE: line L, column C: invalid TOML: ...`. */
export function parseToml(text: string, source: string, errorOf: ErrorFactory): Table {
  try {
    return parse(text, { integersAsBigInt: true }) as Table;
  } catch (e) {
    if (e instanceof TomlError) {
      const problem = e.message.replace(/^Invalid TOML document: /, "").split("\n")[0];
      throw errorOf(`${source}: line ${e.line}, column ${e.column}: invalid TOML: ${problem}`, null, e.codeblock);
    }
    throw errorOf(`${source}: invalid TOML: ${e instanceof Error ? e.message : String(e)}`, null, null);
  }
}

/** How a TOML value is shown in a message: strings quoted, the rest by their TOML type. */
export function showValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "number") return Number.isInteger(v) ? `${v}.0 (a float)` : `${v} (a float)`;
  if (Array.isArray(v)) return "an array";
  if (v !== null && typeof v === "object") return v.constructor?.name === "TomlDate" ? "a date" : "a table";
  return String(v);
}

function range(min: number, max: number): string {
  if (max >= Number.MAX_SAFE_INTEGER) return ` >= ${min}`;
  return min < 0 ? ` from ${min} to ${max}` : ` ${min}-${max}`;
}

/** The kind in words, for "expected ..." and "required but missing (...)". */
export function describeKind(kind: Kind): string {
  switch (kind.type) {
    case "string":
      return kind.nonEmpty ? "a non-empty string" : "a string";
    case "integer":
      return `an integer${range(kind.min, kind.max)}`;
    case "number":
      return `a number${range(kind.min, kind.max)}`;
    case "boolean":
      return "true or false";
    case "enum":
      return `one of ${kind.values.map((x) => JSON.stringify(x)).join(", ")}`;
  }
}

/** Levenshtein distance, for "did you mean" hints on unknown keys (keys are short). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** `unknown key (did you mean "x"?)`, or the list of known keys when none is close. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const close = known.filter((k) => editDistance(key.toLowerCase(), k) <= 2).sort((x, y) => editDistance(key, x) - editDistance(key, y));
  const hint = close.length > 0 ? `did you mean "${close[0]}"?` : `known keys: ${known.join(", ")}`;
  return `unknown key (${hint})`;
}

/** The JS value a kind yields. */
type ValueOf<K extends Kind> = K extends { type: "string" | "enum" } ? string : K extends { type: "boolean" } ? boolean : number;

/**
 * Checks one TOML value against its kind; returns the JS value (integers as numbers) or throws
 * `SOURCE: key "LABEL": expected KIND, got VALUE`.
 */
export function checkValue<K extends Kind>(source: string, keyLabel: string, kind: K, v: unknown, errorOf: ErrorFactory): ValueOf<K> {
  const fail = (): never => {
    throw errorOf(`${source}: key "${keyLabel}": expected ${describeKind(kind)}, got ${showValue(v)}`, keyLabel, null);
  };
  switch (kind.type) {
    case "string":
      if (typeof v !== "string" || (kind.nonEmpty && v.trim().length === 0)) fail();
      return v as ValueOf<K>;
    case "integer":
      // Parsed with integersAsBigInt, so a TOML integer is a bigint and a float (3.0) is a number.
      if (typeof v !== "bigint" || v < BigInt(kind.min) || v > BigInt(kind.max)) fail();
      return Number(v) as ValueOf<K>;
    case "number": {
      const x = typeof v === "bigint" ? Number(v) : v;
      if (typeof x !== "number" || !Number.isFinite(x) || x < kind.min || x > kind.max) fail();
      return x as ValueOf<K>;
    }
    case "boolean":
      if (typeof v !== "boolean") fail();
      return v as ValueOf<K>;
    case "enum":
      if (typeof v !== "string" || !kind.values.includes(v)) fail();
      return v as ValueOf<K>;
  }
}

export const int = (min = 0, max = Number.MAX_SAFE_INTEGER): IntegerKind => ({ type: "integer", min, max });
export const num = (min: number, max: number): NumberKind => ({ type: "number", min, max });
export const oneOf = (values: readonly string[]): EnumKind => ({ type: "enum", values });
export const STRING: StringKind = { type: "string", nonEmpty: false };
export const NON_EMPTY: StringKind = { type: "string", nonEmpty: true };
export const BOOLEAN: BooleanKind = { type: "boolean" };

/**
 * A table being read: refuses unknown keys on construction, then hands out checked values
 * with defaults. Key labels are dotted paths (`workload.mix.blind`, `fault[0].node`).
 */
export class TableReader {
  constructor(
    readonly source: string,
    readonly path: string,
    readonly table: Table,
    allowed: readonly string[],
    private readonly errorOf: ErrorFactory,
  ) {
    for (const k of Object.keys(table)) if (!allowed.includes(k)) this.fail(k, unknownKeyMessage(k, allowed));
  }

  /** The dotted label of key `k` of this table. */
  label(k: string): string {
    return this.path === "" ? k : `${this.path}.${k}`;
  }

  fail(k: string, problem: string): never {
    throw this.errorOf(`${this.source}: key "${this.label(k)}": ${problem}`, this.label(k), null);
  }

  has(k: string): boolean {
    return this.table[k] !== undefined;
  }

  /** The value of `k` checked against `kind`; `def` when absent (undefined: the key is required). */
  get<K extends Kind>(k: string, kind: K, def: ValueOf<K> | undefined): ValueOf<K> {
    const v = this.table[k];
    if (v === undefined) {
      if (def === undefined) this.fail(k, `required but missing (${describeKind(kind)})`);
      return def;
    }
    return checkValue(this.source, this.label(k), kind, v, this.errorOf);
  }

  int(k: string, def: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    return this.get(k, int(min, max), def);
  }

  num(k: string, def: number, min: number, max: number): number {
    return this.get(k, num(min, max), def);
  }

  str(k: string, def: string | undefined): string {
    return this.get(k, STRING, def);
  }

  bool(k: string, def: boolean): boolean {
    return this.get(k, BOOLEAN, def);
  }

  oneOf<T extends string>(k: string, options: readonly T[], def: T | undefined): T {
    return this.get(k, oneOf(options), def) as T;
  }

  /** Sub-table `k` (absent: an empty table). */
  sub(k: string, allowed: readonly string[]): TableReader {
    const v = this.table[k] ?? {};
    if (typeof v !== "object" || v === null || Array.isArray(v)) this.fail(k, `expected a table, got ${showValue(v)}`);
    return new TableReader(this.source, this.label(k), v as Table, allowed, this.errorOf);
  }

  /** Array `k` (absent: empty). */
  list(k: string): unknown[] {
    const v = this.table[k];
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(k, `expected an array, got ${showValue(v)}`);
    return v;
  }

  /** Array of tables `k` ([[k]]), each read with the same allowed keys. */
  tables(k: string, allowed: readonly string[]): TableReader[] {
    return this.list(k).map((t, i) => {
      if (typeof t !== "object" || t === null || Array.isArray(t)) this.fail(`${k}[${i}]`, `expected a table, got ${showValue(t)}`);
      return new TableReader(this.source, this.label(`${k}[${i}]`), t as Table, allowed, this.errorOf);
    });
  }
}
