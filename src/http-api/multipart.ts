// The multipart/mixed format (RFC 2046 section 5.1) of the 300 Multiple Choices answers of the
// MecDB HTTP API, both directions in one place: the server encodes siblings with
// encodeMultipart, the client splits them with parseMultipart. Owns the byte layout, the
// choice of a boundary that occurs in no part, and the strict parser. Must not know: HTTP
// transport, vclocks, where randomness comes from (the caller passes it). Works on Uint8Array
// so it runs anywhere fetch does. (The original MecDB answered `mime/multipart` with no
// boundary parameter, which no client can split; this is a real multipart/mixed.)
//
// Layout (CRLF line ends; the CRLF before each delimiter belongs to the delimiter, so each
// part body is byte-exact):
//   --B CRLF headers CRLF CRLF body CRLF --B CRLF headers ... body CRLF --B-- CRLF
//
// Parsing rules: the delimiter is CRLF "--" boundary (the first one may open the body
// without the CRLF); after a delimiter come optional spaces/tabs then CRLF, or "--" for the
// close delimiter; part headers end at the first empty line; a part's body is every byte up
// to the CRLF of the next delimiter. A body without a close delimiter is an error.

export interface MultipartPart {
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

export interface ParsedPart {
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
}

export class MultipartError extends Error {}

const latin1 = new TextDecoder("latin1");

/** The boundary parameter of a multipart Content-Type (quoted or not), or null. */
export function boundaryOf(contentType: string): string | null {
  const m = /^\s*multipart\/[a-z0-9.+-]+\s*(;.*)?$/i.exec(contentType);
  if (m === null) return null;
  for (const param of splitParams(m[1] ?? "")) {
    const eq = param.indexOf("=");
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== "boundary") continue;
    let v = param.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    return v.length >= 1 && v.length <= 70 ? v : null;
  }
  return null;
}

function splitParams(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted && c === "\\") {
      cur += c + (s[i + 1] ?? "");
      i++;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ";" && !quoted) {
      if (cur.trim() !== "") out.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.trim() !== "") out.push(cur);
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  outer: for (let i = hay.indexOf(first ?? 0, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first ?? 0, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

/** The Content-Type of a multipart/mixed body with this boundary. */
export function multipartContentType(boundary: string): string {
  return `multipart/mixed; boundary=${boundary}`;
}

/**
 * A boundary `mec-` + random() (RFC 2046 allows up to 70 characters), drawn again while any
 * part contains it. `random` gives fresh text each call (the server: 32 random hex digits).
 */
export function chooseBoundary(parts: readonly MultipartPart[], random: () => string): string {
  for (;;) {
    const boundary = `mec-${random()}`;
    const needle = ascii(`--${boundary}`);
    const clash = parts.some((p) => indexOf(p.body, needle, 0) >= 0 || p.headers.some(([k, v]) => k.includes(boundary) || v.includes(boundary)));
    if (!clash) return boundary;
  }
}

/** The body of a multipart/mixed with these parts (header text is latin1, bodies byte-exact). */
export function encodeMultipart(parts: readonly MultipartPart[], boundary: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\n`;
    for (const [name, value] of part.headers) head += `${name}: ${value}\r\n`;
    head += "\r\n";
    chunks.push(ascii(head), part.body, ascii("\r\n"));
  }
  chunks.push(ascii(`--${boundary}--\r\n`));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export function parseMultipart(body: Uint8Array, boundary: string): ParsedPart[] {
  const dash = ascii(`--${boundary}`);
  const delim = ascii(`\r\n--${boundary}`);
  // The first delimiter: at the very start, or after a preamble ending in CRLF.
  let pos: number;
  if (indexOf(body.subarray(0, dash.length), dash, 0) === 0) pos = dash.length;
  else {
    const at = indexOf(body, delim, 0);
    if (at < 0) throw new MultipartError("no boundary delimiter in the body");
    pos = at + delim.length;
  }
  const parts: ParsedPart[] = [];
  for (;;) {
    // After a delimiter: "--" closes; otherwise optional LWSP then CRLF.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) return parts;
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++;
    if (body[pos] !== 0x0d || body[pos + 1] !== 0x0a) throw new MultipartError(`expected CRLF after the boundary at byte ${pos}`);
    pos += 2;
    const headers = new Map<string, string>();
    for (;;) {
      const eol = indexOf(body, ascii("\r\n"), pos);
      if (eol < 0) throw new MultipartError("part headers do not end");
      const line = latin1.decode(body.subarray(pos, eol));
      pos = eol + 2;
      if (line === "") break;
      const colon = line.indexOf(":");
      if (colon <= 0) throw new MultipartError(`malformed part header ${JSON.stringify(line.slice(0, 60))}`);
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const end = indexOf(body, delim, pos);
    if (end < 0) throw new MultipartError("a part has no closing boundary");
    parts.push({ headers, body: body.slice(pos, end) });
    pos = end + delim.length;
  }
}
