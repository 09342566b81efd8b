// Builds the multipart/mixed body of a 300 Multiple Choices answer (RFC 2046 section 5.1):
// one part per live sibling with its own Content-Type, Last-Modified and X-Mec-Timestamp.
// Owns the byte layout and the choice of a boundary that occurs in no part.
// Must not know: HTTP routing or the node. (The original MecDB answered `mime/multipart`
// with no boundary parameter, which no client can split; we send a real multipart/mixed.)
//
// Layout (CRLF line ends; the CRLF before each delimiter belongs to the delimiter, so each
// part body is byte-exact):
//   --B CRLF headers CRLF CRLF body CRLF --B CRLF headers ... body CRLF --B-- CRLF
import { randomBytes } from "node:crypto";

export interface MultipartPart {
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

/** A boundary of 32 hex digits (RFC 2046 allows up to 70 characters), regenerated while any part contains it. */
export function chooseBoundary(parts: readonly MultipartPart[], random: () => string = () => randomBytes(16).toString("hex")): string {
  for (;;) {
    const boundary = `mec-${random()}`;
    const needle = Buffer.from(`--${boundary}`, "latin1");
    const clash = parts.some(
      (p) => bufferOf(p.body).includes(needle) || p.headers.some(([k, v]) => k.includes(boundary) || v.includes(boundary)),
    );
    if (!clash) return boundary;
  }
}

export function encodeMultipart(parts: readonly MultipartPart[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\n`;
    for (const [name, value] of part.headers) head += `${name}: ${value}\r\n`;
    head += "\r\n";
    chunks.push(Buffer.from(head, "latin1"), bufferOf(part.body), Buffer.from("\r\n", "latin1"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, "latin1"));
  return Buffer.concat(chunks);
}

/** A Buffer view of the bytes, without copying. */
export function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
