// Assertions for the core. Owns: the one way the core reports a programmer error (a bug),
// which crashes the node on purpose. Operating errors (timeouts, quorum not met, malformed
// peer messages) are data, never assertions. Left on in production.

class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws when `cond` is false: a broken invariant is a bug, not an operating condition. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new AssertionError(msg);
}

/** Exhaustiveness check for tagged unions. */
export function assertNever(x: never, msg = "unexpected variant"): never {
  throw new AssertionError(`${msg}: ${JSON.stringify(x)}`);
}
