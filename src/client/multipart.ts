// A small, strict multipart/mixed parser (RFC 2046 section 5.1) for the 300 Multiple Choices
// answers of the MecDB HTTP API. Owns splitting a body into parts (headers + exact bytes).
// Must not know: HTTP transport, vclocks. Works on Uint8Array so it runs anywhere fetch does.
//
// Rules followed: the delimiter is CRLF "--" boundary (the first one may open the body
// without the CRLF); after a delimiter come optional spaces/tabs then CRLF, or "--" for the
// close delimiter; part headers end at the first empty line; a part's body is every byte up
// to the CRLF of the next delimiter. A body without a close delimiter is an error.

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
