// Optional bearer-token authentication of the HTTP API. Owns: checking `Authorization:
// Bearer <token>` against the configured tokens (in constant time per token) and which paths
// are open (/ping and /health: liveness probes carry no data). Must not know: routes' logic.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

/** Paths served without a token. */
const OPEN_PATHS = new Set(["/ping", "/health"]);

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

export class BearerAuth {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    if (tokens.length === 0) throw new Error("bearer authentication needs at least one token");
    this.digests = tokens.map(digest);
  }

  /** True when the request may proceed. */
  allows(path: string, authorization: string | undefined): boolean {
    if (OPEN_PATHS.has(path)) return true;
    const m = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? "");
    if (m === null) return false;
    const d = digest(m[1]!);
    let ok = false;
    for (const t of this.digests) ok = timingSafeEqual(t, d) || ok; // no early exit
    return ok;
  }
}

/** Reads a tokens file: one token per line, blank lines and `#` comments ignored; throws naming the problem. */
export function readTokensFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const tokens = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  if (tokens.length === 0) throw new Error(`${path}: no tokens (one per line)`);
  for (const t of tokens) if (!/^[\x21-\x7e]{16,}$/.test(t)) throw new Error(`${path}: a token must be at least 16 printable ASCII characters without spaces`);
  return tokens;
}
