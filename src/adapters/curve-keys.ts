// CURVE key pairs without ZeroMQ: Z85 (ZeroMQ RFC 32), generating a pair, deriving a public
// key from a secret key (CURVE keys are X25519 keys, so node:crypto does both), and the key
// file `mec keygen` writes and a node reads (`curve_key_file`). Kept apart from curve.ts so
// config loading and `mec keygen` do not load zeromq.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";

export interface CurveKeyPair {
  /** Z85, 40 characters. */
  readonly publicKey: string;
  readonly secretKey: string;
}

// ---- Z85 (ZeroMQ RFC 32) ----

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const Z85_INDEX = new Map([...Z85].map((c, i) => [c, i]));

export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new Error("z85: length must be a multiple of 4");
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let v = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85[v % 85]!);
      v = Math.floor(v / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/** Decodes Z85 text; null if it is not Z85 of a multiple of 4 bytes. */
export function z85Decode(text: string): Uint8Array | null {
  if (text.length % 5 !== 0) return null;
  const out = new Uint8Array((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) {
      const d = Z85_INDEX.get(text[i + j]!);
      if (d === undefined) return null;
      v = v * 85 + d;
    }
    if (v > 0xffffffff) return null;
    const at = (i / 5) * 4;
    out[at] = v >>> 24;
    out[at + 1] = (v >>> 16) & 0xff;
    out[at + 2] = (v >>> 8) & 0xff;
    out[at + 3] = v & 0xff;
  }
  return out;
}

/** True for a Z85 CURVE key (40 characters, 32 bytes). */
export function isCurveKey(text: string): boolean {
  return text.length === 40 && z85Decode(text) !== null;
}

/** DER of a PKCS#8 X25519 private key up to its 32 raw bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key of a CURVE secret key (both Z85): CURVE keys are X25519 keys. */
export function publicKeyOf(secretKey: string): string {
  const raw = z85Decode(secretKey);
  if (raw === null || raw.length !== 32) throw new Error("not a Z85 CURVE secret key");
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  const x = createPublicKey(priv).export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new Error("cannot derive the public key");
  return z85Encode(Buffer.from(x, "base64url"));
}

export function generateKeyPair(): CurveKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const d = privateKey.export({ format: "jwk" }).d;
  const x = publicKey.export({ format: "jwk" }).x;
  if (typeof d !== "string" || typeof x !== "string") throw new Error("cannot export an X25519 key");
  return { publicKey: z85Encode(Buffer.from(x, "base64url")), secretKey: z85Encode(Buffer.from(d, "base64url")) };
}

// ---- key files ----

/** The text of a key file: TOML-like lines, the secret key and (for reference) the public key. */
export function keyFileText(pair: CurveKeyPair, name: string): string {
  return [
    `# MecDB CURVE key pair${name ? ` of ${name}` : ""}. Keep this file secret (mode 0600).`,
    `# Other nodes list the public key as curve_public_key in this node's [[node]] entry.`,
    `public_key = "${pair.publicKey}"`,
    `secret_key = "${pair.secretKey}"`,
    "",
  ].join("\n");
}

export function writeKeyFile(path: string, pair: CurveKeyPair, name = ""): void {
  writeFileSync(path, keyFileText(pair, name), { mode: 0o600 });
}

/** Reads a key file; throws an Error saying what is wrong (the caller names the config key). */
export function readKeyFile(path: string): CurveKeyPair {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new Error(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  const field = (name: string): string | undefined => new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"\\s*$`, "m").exec(text)?.[1];
  const secretKey = field("secret_key");
  if (secretKey === undefined || !isCurveKey(secretKey)) throw new Error(`${path}: no valid secret_key (40 Z85 characters; make one with mec keygen)`);
  const publicKey = publicKeyOf(secretKey);
  const listed = field("public_key");
  if (listed !== undefined && listed !== publicKey) throw new Error(`${path}: public_key does not belong to secret_key`);
  return { publicKey, secretKey };
}
