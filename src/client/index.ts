// A small TypeScript client for the MecDB HTTP API that understands vclocks and siblings.
// Owns: key encoding, turning 200 / 300 multipart / 404 answers into one GetResult shape,
// passing the X-Mec-Vclock context back on writes (a write answered 300 hands back the
// siblings it left and a clock covering them), and the read-merge-write resolve helper.
// Must not know: anything server-side; it speaks HTTP only (Node 20's global fetch).
//
//   const db = new MecClient("http://127.0.0.1:3001");
//   await db.put("greeting", "hello", { contentType: "text/plain" });
//   const got = await db.get("greeting");            // { status: "ok", siblings: [...], vclock }
//   await db.put("greeting", "hi", { vclock: got.vclock });  // supersedes what we read
//   await db.resolve("greeting", (siblings) => ({ value: pick(siblings), contentType: "text/plain" }));
import { CLIENT_ID_HEADER, CONTENT_TYPE_HEADER, DEFAULT_CONTENT_TYPE, LAST_MODIFIED_HEADER, SIBLINGS_HEADER, TIMESTAMP_HEADER, VCLOCK_HEADER as VCLOCK } from "../http-api/headers.ts";
import { boundaryOf, parseMultipart } from "../http-api/multipart.ts";

export { boundaryOf, parseMultipart, MultipartError, type ParsedPart } from "../http-api/multipart.ts";

export interface MecSibling {
  readonly value: Uint8Array;
  readonly contentType: string;
  /** Nanoseconds since the Unix epoch (X-Mec-Timestamp); 0n if the server sent none. */
  readonly timestamp: bigint;
  /** The Last-Modified header as sent (an HTTP date), or null. */
  readonly lastModified: string | null;
}

export interface GetResult {
  /** ok: one value; siblings: several concurrent values (HTTP 300); not-found: missing or deleted. */
  readonly status: "ok" | "siblings" | "not-found";
  readonly siblings: readonly MecSibling[];
  /** The causal context to send with the next write of this key; for a deleted key, the tombstone's. */
  readonly vclock: string | null;
}

export interface WriteResult {
  /**
   * ok: the write left no other value, and `vclock` is the stored set's clock; siblings: it
   * left concurrent values. The server then returns no clock (it would cover values this
   * client was not shown) unless `returnBody` was asked: then `siblings` holds every value
   * (the written one included) and `vclock` covers them all. Without it, `siblings` is empty
   * and `siblingCount` says how many there are: `get` or `resolve` the key to merge them.
   */
  readonly status: "ok" | "siblings";
  readonly siblings: readonly MecSibling[];
  /** Live values of the key after the write. */
  readonly siblingCount: number;
  /** A clock safe to send with the next write (it covers only what this client was shown), or null. */
  readonly vclock: string | null;
}

export interface GetOptions {
  readonly r?: number;
}

export interface PutOptions {
  /** Default: text/plain; charset=utf-8 for a string value, application/octet-stream for bytes. */
  readonly contentType?: string;
  /** The context from a previous read; omit for a blind write (which may create a sibling). */
  readonly vclock?: string | null;
  readonly w?: number;
  /** Ask for the stored set back (?returnbody=true): a write that left siblings then shows them all, with a clock covering them. */
  readonly returnBody?: boolean;
}

export interface DeleteOptions {
  readonly vclock?: string | null;
  readonly w?: number;
}

export interface ResolveOptions {
  readonly r?: number;
  readonly w?: number;
}

export type Merge = (siblings: readonly MecSibling[]) => { value: Uint8Array | string; contentType?: string };

export interface ResolveResult {
  /** resolved: siblings were merged and written back; single: there was one value, nothing written; not-found. */
  readonly status: "resolved" | "single" | "not-found";
  readonly vclock: string | null;
  readonly value: Uint8Array | null;
  readonly contentType: string | null;
}

/** An error answer of the server (status >= 400), or a transport failure (status 0). */
export class MecError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown = null,
  ) {
    super(`${status === 0 ? "" : `HTTP ${status} `}${code}: ${message}`);
    this.name = "MecError";
  }
}

/** What GET /cluster answers. */
export interface ClusterInfo {
  readonly members: readonly { readonly id: string; readonly name: string; readonly status: "joining" | "valid" | "leaving" | "removed" }[];
  readonly ring: { readonly epoch: number; readonly partitions: number; readonly owners: readonly string[]; readonly pendingPartitions: readonly number[] };
  readonly transfers: { readonly pending: number; readonly active: readonly { readonly partition: number; readonly from: string; readonly to: string; readonly sent: number; readonly remaining: number }[] };
}

export interface MecClientOptions {
  /** Per-request timeout; default 10 s. */
  readonly timeoutMs?: number;
  /** Another fetch implementation (tests); default the global fetch. */
  readonly fetch?: typeof fetch;
  /** Sent as X-Mec-Client-Id on writes (only the client-vclock teaching mode uses it). */
  readonly clientId?: string;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The UTF-8 text of a value. */
export function text(value: Uint8Array): string {
  return utf8Decoder.decode(value);
}

/** The path of a key: percent-encoded as one segment ('/' becomes %2F). */
export function keyPath(key: string): string {
  if (key.length === 0) throw new MecError(0, "bad-key", "empty key");
  try {
    return `/mec/${encodeURIComponent(key)}`;
  } catch {
    throw new MecError(0, "bad-key", "key is not valid Unicode (lone surrogate)");
  }
}

export class MecClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;
  private readonly clientId: string | null;

  constructor(baseUrl: string, options: MecClientOptions = {}) {
    this.clientId = options.clientId ?? null;
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async get(key: string, options: GetOptions = {}): Promise<GetResult> {
    const res = await this.send("GET", keyPath(key) + query({ r: options.r }), {});
    return readSet(res);
  }

  async put(key: string, value: Uint8Array | string, options: PutOptions = {}): Promise<WriteResult> {
    const body = typeof value === "string" ? utf8.encode(value) : value;
    const contentType = options.contentType ?? (typeof value === "string" ? "text/plain; charset=utf-8" : DEFAULT_CONTENT_TYPE);
    const headers: Record<string, string> = { [CONTENT_TYPE_HEADER]: contentType };
    if (options.vclock) headers[VCLOCK] = options.vclock;
    if (this.clientId !== null) headers[CLIENT_ID_HEADER] = this.clientId;
    const res = await this.send("PUT", keyPath(key) + query({ w: options.w }) + (options.returnBody === true ? `${options.w === undefined ? "?" : "&"}returnbody=true` : ""), headers, body);
    return readWrite(res);
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<WriteResult> {
    const headers: Record<string, string> = {};
    if (options.vclock) headers[VCLOCK] = options.vclock;
    if (this.clientId !== null) headers[CLIENT_ID_HEADER] = this.clientId;
    const res = await this.send("DELETE", keyPath(key) + query({ w: options.w }), headers);
    return readWrite(res);
  }

  /**
   * Reads the key; if it has siblings, merges them with the user's function and writes the
   * result back with the read's context, which descends every sibling, so they are replaced
   * by the one merged value (unless a new concurrent write arrived meanwhile).
   */
  async resolve(key: string, merge: Merge, options: ResolveOptions = {}): Promise<ResolveResult> {
    const got = await this.get(key, options.r === undefined ? {} : { r: options.r });
    if (got.status === "not-found") return { status: "not-found", vclock: got.vclock, value: null, contentType: null };
    if (got.status === "ok") {
      const only = got.siblings[0]!;
      return { status: "single", vclock: got.vclock, value: only.value, contentType: only.contentType };
    }
    const merged = merge(got.siblings);
    const value = typeof merged.value === "string" ? utf8.encode(merged.value) : merged.value;
    const contentType = merged.contentType ?? (typeof merged.value === "string" ? "text/plain; charset=utf-8" : "application/octet-stream");
    const written = await this.put(key, value, { contentType, vclock: got.vclock, ...(options.w === undefined ? {} : { w: options.w }) });
    return { status: "resolved", vclock: written.vclock, value, contentType };
  }

  async ping(): Promise<boolean> {
    const res = await this.send("GET", "/ping", {});
    await res.arrayBuffer();
    return res.ok;
  }

  /** GET /cluster: members, the ring (epoch, owners) and the transfers still to run. */
  async cluster(): Promise<ClusterInfo> {
    const res = await this.send("GET", "/cluster", {});
    return (await res.json()) as ClusterInfo;
  }

  /** POST /cluster/leave: the node hands its partitions off, then its process exits 0. */
  async leave(): Promise<ClusterInfo> {
    const res = await this.send("POST", "/cluster/leave", {});
    return (await res.json()) as ClusterInfo;
  }

  /** POST /cluster/remove/NODE: removes a (crashed) member by id (host:port); its partitions are rebuilt from the other replicas. */
  async remove(node: string): Promise<ClusterInfo> {
    const res = await this.send("POST", `/cluster/remove/${encodeURIComponent(node)}`, {});
    return (await res.json()) as ClusterInfo;
  }

  async stats(): Promise<Record<string, unknown>> {
    const res = await this.send("GET", "/stats", {});
    return (await res.json()) as Record<string, unknown>;
  }

  /** Sends one request; throws MecError for a status >= 400 (404 on /mec/ keys is returned, not thrown). */
  private async send(method: string, path: string, headers: Record<string, string>, body?: Uint8Array): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + path, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const code = e.name === "TimeoutError" ? "timeout" : "unreachable";
      throw new MecError(0, code, `${method} ${this.baseUrl}${path}: ${e.message}`);
    }
    if (res.status >= 400 && !(res.status === 404 && method === "GET" && path.startsWith("/mec/"))) {
      const raw = await res.text();
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(raw);
      } catch {
        // not JSON: fall through with the raw text
      }
      const obj = (parsed ?? {}) as { error?: unknown; message?: unknown };
      const code = typeof obj.error === "string" ? obj.error : `http-${res.status}`;
      const message = typeof obj.message === "string" ? obj.message : raw.slice(0, 200);
      throw new MecError(res.status, code, message, parsed ?? raw);
    }
    return res;
  }
}

function query(params: Record<string, number | undefined>): string {
  const parts = Object.entries(params)
    .filter((e): e is [string, number] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

function parseTimestamp(s: string | null | undefined): bigint {
  if (s === null || s === undefined || !/^[0-9]{1,20}$/.test(s.trim())) return 0n;
  return BigInt(s.trim());
}

/** A write's answer (src/api/write-answer.ts): 200 / 204 with the set's clock, or without a clock when it left siblings; 300 with them for returnBody. */
async function readWrite(res: Response): Promise<WriteResult> {
  if (res.status === 300) {
    const got = await readSet(res);
    return { status: "siblings", siblings: got.siblings, siblingCount: got.siblings.length, vclock: got.vclock };
  }
  await res.arrayBuffer();
  const vclock = res.headers.get(VCLOCK);
  const count = Number(res.headers.get(SIBLINGS_HEADER) ?? (vclock === null ? 0 : 1));
  return { status: vclock === null && count > 0 ? "siblings" : "ok", siblings: [], siblingCount: Number.isInteger(count) ? count : 0, vclock };
}

async function readSet(res: Response): Promise<GetResult> {
  const vclock = res.headers.get(VCLOCK);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 404) return { status: "not-found", siblings: [], vclock };
  if (res.status === 200) {
    const sibling: MecSibling = {
      value: bytes,
      contentType: res.headers.get(CONTENT_TYPE_HEADER) ?? DEFAULT_CONTENT_TYPE,
      timestamp: parseTimestamp(res.headers.get(TIMESTAMP_HEADER)),
      lastModified: res.headers.get(LAST_MODIFIED_HEADER),
    };
    return { status: "ok", siblings: [sibling], vclock };
  }
  if (res.status === 300) {
    const ct = res.headers.get(CONTENT_TYPE_HEADER) ?? "";
    const boundary = boundaryOf(ct);
    if (boundary === null) throw new MecError(300, "bad-multipart", `300 answer without a multipart boundary (Content-Type ${JSON.stringify(ct)})`);
    const parts = parseMultipart(bytes, boundary);
    const siblings = parts.map((p) => ({
      value: p.body,
      contentType: p.headers.get(CONTENT_TYPE_HEADER) ?? DEFAULT_CONTENT_TYPE,
      timestamp: parseTimestamp(p.headers.get(TIMESTAMP_HEADER)),
      lastModified: p.headers.get(LAST_MODIFIED_HEADER) ?? null,
    }));
    return { status: "siblings", siblings, vclock };
  }
  throw new MecError(res.status, `http-${res.status}`, `unexpected status ${res.status}`);
}
