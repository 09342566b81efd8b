// Object limits on the minting replica (Riak's max_siblings / max_object_size, with warn
// thresholds). Owns: the decision whether a client write's result may be stored. Must not
// know: storage, messages. A write is refused only if its result exceeds a max limit AND is
// larger than what was stored before, so a write that resolves siblings (sent with the read's
// vclock) or deletes is always accepted, and the way out of a refusal is always: read the
// siblings, merge them, write back with the read's X-Mec-Vclock.
import type { ObjectLimits } from "../types.ts";

type LimitVerdict =
  | { readonly ok: true; readonly warn: string | null }
  | { readonly ok: false; readonly error: "too-many-siblings" | "object-too-large"; readonly message: string };

/** Sizes of a key's object before and after a write (live siblings and encoded bytes). */
export interface ObjectSize {
  readonly siblings: number;
  readonly bytes: number;
}

/** `beforeOf` is called only when a max limit is exceeded (sizing the old object costs an encode). */
export function checkObjectLimits(beforeOf: () => ObjectSize, after: ObjectSize, limits: ObjectLimits | undefined): LimitVerdict {
  if (limits === undefined) return { ok: true, warn: null };
  const over = after.siblings > limits.siblingsMax || after.bytes > limits.objectBytesMax;
  const before = over ? beforeOf() : after;
  if (after.siblings > limits.siblingsMax && after.siblings > before.siblings) {
    return {
      ok: false,
      error: "too-many-siblings",
      message: `the write would leave ${after.siblings} siblings, above max_siblings = ${limits.siblingsMax}: read the key, merge its siblings and write back with its X-Mec-Vclock`,
    };
  }
  if (after.bytes > limits.objectBytesMax && after.bytes > before.bytes) {
    return {
      ok: false,
      error: "object-too-large",
      message: `the write would make the object ${after.bytes} bytes, above max_object_bytes = ${limits.objectBytesMax}: resolve its siblings (read, merge, write back with the X-Mec-Vclock) or store a smaller value`,
    };
  }
  if (after.siblings > limits.siblingsWarn) return { ok: true, warn: `${after.siblings} siblings (warn_siblings = ${limits.siblingsWarn})` };
  if (after.bytes > limits.objectBytesWarn) return { ok: true, warn: `object of ${after.bytes} bytes (warn_object_bytes = ${limits.objectBytesWarn})` };
  return { ok: true, warn: null };
}
