// Binds a ZeroMQ routing id to a CURVE key: every zmq message between two members carries a
// tag, HMAC-SHA256 (truncated to 16 bytes) over (sender id, receiver id, payload) with a key
// only those two members can compute: X25519 of one's secret key and the other's public key
// (the same Curve25519 keys CURVE uses). CURVE alone admits any member's key but lets the
// client choose its routing id; with the tag, a member cannot send as another member, so the
// sender a message is delivered with is the peer that holds that id's secret key.
// Owns: the pairwise keys and the tag. Must not know: sockets, node messages.
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual, type KeyObject } from "node:crypto";
import { z85Decode, type CurveKeyPair } from "./curve-keys.ts";

const TAG_BYTES = 16;
/** DER of an X25519 SubjectPublicKeyInfo up to its 32 raw bytes (RFC 8410). */
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

function raw32(z85: string, what: string): Buffer {
  const b = z85Decode(z85);
  if (b === null || b.length !== 32) throw new Error(`${what} is not a Z85 CURVE key`);
  return Buffer.from(b);
}

export class PeerAuthenticator {
  private readonly secret: KeyObject;
  private readonly pairKeys = new Map<string, Buffer>();

  constructor(
    private readonly selfId: string,
    keys: CurveKeyPair,
    private readonly peerKeys: ReadonlyMap<string, string>,
  ) {
    this.secret = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw32(keys.secretKey, "the secret key")]), format: "der", type: "pkcs8" });
  }

  /** The key shared with `peer`, or null for a peer that is not a member. */
  private pairKey(peer: string): Buffer | null {
    const cached = this.pairKeys.get(peer);
    if (cached !== undefined) return cached;
    const pub = this.peerKeys.get(peer);
    if (pub === undefined) return null;
    const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw32(pub, `the public key of ${peer}`)]), format: "der", type: "spki" });
    const shared = diffieHellman({ privateKey: this.secret, publicKey });
    const key = createHmac("sha256", "mecdb peer-auth v1").update(shared).digest();
    this.pairKeys.set(peer, key);
    return key;
  }

  /** The bytes "from\0to\0" the tag covers before the payload, per direction (cached: one native update instead of four). */
  private readonly prefixes = new Map<string, Buffer>();

  private tagWith(key: Buffer, from: string, to: string, payload: Uint8Array): Buffer {
    const direction = `${from}\0${to}\0`;
    let prefix = this.prefixes.get(direction);
    if (prefix === undefined) {
      prefix = Buffer.from(direction, "utf8");
      this.prefixes.set(direction, prefix);
    }
    return createHmac("sha256", key).update(prefix).update(payload).digest().subarray(0, TAG_BYTES);
  }

  /** The tag of a payload this node sends to `to` (throws for a non-member: a bug). */
  tag(to: string, payload: Uint8Array): Buffer {
    const key = this.pairKey(to);
    if (key === null) throw new Error(`no CURVE public key for ${to}`);
    return this.tagWith(key, this.selfId, to, payload);
  }

  /** True when `tag` proves the payload came from the member `from`. */
  verify(from: string, payload: Uint8Array, tag: Uint8Array | undefined): boolean {
    if (tag === undefined || tag.length !== TAG_BYTES) return false;
    const key = this.pairKey(from);
    return key !== null && timingSafeEqual(this.tagWith(key, from, this.selfId, payload), tag);
  }
}
