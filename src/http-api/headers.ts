// The header names of the MecDB HTTP API, defined once for the server (src/adapters/http) and
// the client (src/client). HTTP header names are case-insensitive; these are the lower-case
// forms Node and fetch use as keys.

/** The causal context: base64 msgpack vector clock (src/core/versioning/codec.ts). */
export const VCLOCK_HEADER = "x-mec-vclock";
/** A sibling's write time in nanoseconds since the Unix epoch (Last-Modified has only seconds). */
export const TIMESTAMP_HEADER = "x-mec-timestamp";
/** Names the writing client; only the client-vclock teaching mode uses it (as the actor, as the original did). */
export const CLIENT_ID_HEADER = "x-mec-client-id";
/** Live siblings of the key after a write (a write that left siblings answers without a clock). */
export const SIBLINGS_HEADER = "x-mec-siblings";
export const LAST_MODIFIED_HEADER = "last-modified";
export const CONTENT_TYPE_HEADER = "content-type";
/** The Content-Type of a value written without one. */
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";
