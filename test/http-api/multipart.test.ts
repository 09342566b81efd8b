// The multipart/mixed writer (the server's) and parser (the client's), one module
// (src/http-api/multipart.ts), agree byte for byte, and the writer never picks a boundary
// that occurs in a part.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { boundaryOf, chooseBoundary, encodeMultipart, MultipartError, parseMultipart, type MultipartPart } from "../../src/http-api/multipart.ts";

const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 }).map((s) => s.trim());
const part = fc.record({
  headers: fc.array(fc.tuple(fc.constantFrom("Content-Type", "Last-Modified", "X-Mec-Timestamp"), headerValue), { maxLength: 3 }),
  body: fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    // Bodies full of CRLFs and dashes, the bytes a naive parser trips on.
    fc.array(fc.constantFrom("\r\n", "--", "-", "\r", "\n", "mec-", "x", "\r\n--"), { maxLength: 20 }).map((xs) => new TextEncoder().encode(xs.join(""))),
  ),
});

describe("multipart/mixed", () => {
  it("parse(encode(parts)) gives back every part's headers and exact bytes", () => {
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 5 }), (parts) => {
        const boundary = chooseBoundary(parts, () => randomBytes(16).toString("hex"));
        const parsed = parseMultipart(new Uint8Array(encodeMultipart(parts, boundary)), boundary);
        expect(parsed).toHaveLength(parts.length);
        parsed.forEach((p, i) => {
          const want = parts[i]!;
          expect([...p.body]).toEqual([...want.body]);
          const last = new Map(want.headers.map(([k, v]) => [k.toLowerCase(), v]));
          expect(new Map(p.headers)).toEqual(last);
        });
      }),
      { numRuns: 300 },
    );
  });

  it("chooses another boundary when a part contains the candidate", () => {
    const candidates = ["aaaa", "aaaa", "bbbb"];
    const parts: MultipartPart[] = [{ headers: [], body: new TextEncoder().encode("xx--mec-aaaa yy") }];
    const boundary = chooseBoundary(parts, () => candidates.shift()!);
    expect(boundary).toBe("mec-bbbb");
    expect(candidates).toEqual([]);
  });

  it("reads the boundary parameter, quoted or not", () => {
    expect(boundaryOf("multipart/mixed; boundary=abc")).toBe("abc");
    expect(boundaryOf('Multipart/Mixed; charset=x; boundary="a b;c"')).toBe("a b;c");
    expect(boundaryOf("mime/multipart")).toBeNull();
    expect(boundaryOf("multipart/mixed")).toBeNull();
    expect(boundaryOf("text/plain; boundary=x")).toBeNull();
  });

  it("accepts a preamble and transport padding, and rejects a body that never closes", () => {
    const body = new TextEncoder().encode("preamble\r\n--B  \r\nContent-Type: a\r\n\r\none\r\n--B\r\n\r\ntwo\r\n--B--\r\nepilogue");
    const parts = parseMultipart(body, "B");
    expect(parts.map((p) => new TextDecoder().decode(p.body))).toEqual(["one", "two"]);
    expect(parts[0]!.headers.get("content-type")).toBe("a");
    expect(() => parseMultipart(new TextEncoder().encode("--B\r\n\r\nunfinished"), "B")).toThrow(MultipartError);
    expect(() => parseMultipart(new TextEncoder().encode("no delimiter"), "B")).toThrow(MultipartError);
  });
});
