import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

export interface SshKeyPair {
  /** OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----…"), unencrypted. A secret: never log it. */
  readonly privateKey: string;
  /** One authorized_keys line: "ssh-ed25519 AAAA… comment". */
  readonly publicKey: string;
}

const KEY_TYPE = 'ssh-ed25519';

/** An SSH wire-format `string`: uint32 length, then the bytes (RFC 4251 §5). */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

/**
 * A fresh ed25519 key pair in OpenSSH formats: the controller's own SSH key, or a droplet's host key (given to
 * cloud-init in `ssh_keys` so the controller knows the droplet's identity before it ever connects).
 *
 * Encoded here from node's own key (RFC 8709 public key blob, OpenSSH's PROTOCOL.key private key format) rather than
 * with ssh2's `utils.generateKeyPairSync`, which strips a public key's leading zero bytes and so writes 1 key in 256
 * malformed (mscdex/ssh2#1390, #1513).
 */
export function generateEd25519KeyPair(comment: string): SshKeyPair {
  if (/[\r\n]/.test(comment)) throw new Error('SSH key comment must be a single line');
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  if (pub.length !== 32 || seed.length !== 32) throw new Error('node returned an ed25519 key of an unexpected size');
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE();
  const unpadded = Buffer.concat([
    uint32(check),
    uint32(check),
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  // Padded with 1, 2, 3, … to the cipher block size (8 for "none").
  const padding = Buffer.from(Array.from({ length: (8 - (unpadded.length % 8)) % 8 }, (_, i) => i + 1));
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(Buffer.concat([unpadded, padding])),
  ]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `${KEY_TYPE} ${publicBlob.toString('base64')} ${comment}`.trimEnd(),
  };
}

/** OpenSSH's SHA256 fingerprint of a public key line ("SHA256:…", as `ssh-keygen -lf` prints it). */
export function publicKeyFingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new Error('Not an OpenSSH public key line ("type base64 comment")');
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}
