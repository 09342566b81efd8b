// Object limits on the minting replica: the pure rule, and the node refusing a blind write past
// max siblings / max object bytes while accepting the write that resolves them.
import { describe, expect, it } from "vitest";
import { checkObjectLimits } from "../../src/core/replica/limits.ts";
import type { ObjectLimits } from "../../src/core/types.ts";
import type { VClock } from "../../src/core/versioning/types.ts";
import { Harness, bytes, values } from "./harness.ts";

const limits: ObjectLimits = { maxKeyBytes: 64, siblingsWarn: 2, siblingsMax: 3, objectBytesWarn: 300, objectBytesMax: 600 };

describe("checkObjectLimits", () => {
  const size = (siblings: number, b: number) => ({ siblings, bytes: b });
  it("refuses only what exceeds a max limit and grows", () => {
    expect(checkObjectLimits(() => size(3, 100), size(4, 120), limits)).toMatchObject({ ok: false, error: "too-many-siblings" });
    expect(checkObjectLimits(() => size(5, 100), size(4, 90), limits)).toMatchObject({ ok: true }); // shrinking is fine
    expect(checkObjectLimits(() => size(1, 100), size(1, 700), limits)).toMatchObject({ ok: false, error: "object-too-large" });
    expect(checkObjectLimits(() => size(1, 800), size(1, 700), limits)).toMatchObject({ ok: true });
    expect(checkObjectLimits(() => size(0, 0), size(3, 10), limits)).toMatchObject({ ok: true, warn: expect.stringContaining("warn_siblings = 2") });
    expect(checkObjectLimits(() => size(0, 0), size(9, 9000), undefined)).toEqual({ ok: true, warn: null });
  });
  it("names the limit and the way out", () => {
    const v = checkObjectLimits(() => size(3, 1), size(4, 2), limits);
    expect(v.ok ? "" : v.message).toMatch(/max_siblings = 3: read the key, merge its siblings and write back with its X-Mec-Vclock/);
  });
});

describe("a node with object limits", () => {
  it("refuses the blind write that would make a 4th sibling; the resolving write is accepted", () => {
    const h = new Harness(3, { limits });
    h.startAll();
    const put = (v: string, context: VClock | null) =>
      h.request("n1", { type: "put", key: "k", value: bytes(v), contentType: "text/plain", context });
    for (const v of ["a", "b", "c"]) expect(put(v, null).ok).toBe(true);
    const refused = put("d", null);
    expect(refused).toMatchObject({ ok: false, error: "too-many-siblings", maybeApplied: false });
    const read = h.request("n2", { type: "get", key: "k" });
    expect(read.ok && read.type === "get" ? values(read.set) : []).toEqual(["a", "b", "c"]);
    const resolved = put("abc", read.ok && read.type === "get" && read.set !== null ? read.set.clock : null);
    expect(resolved.ok).toBe(true);
    expect(h.allEvents("write-refused")).toHaveLength(1);
  });

  it("refuses a value that makes the object larger than max_object_bytes", () => {
    const h = new Harness(3, { limits });
    h.startAll();
    const r = h.request("n1", { type: "put", key: "big", value: new Uint8Array(700), contentType: "x", context: null });
    expect(r).toMatchObject({ ok: false, error: "object-too-large" });
  });
});
