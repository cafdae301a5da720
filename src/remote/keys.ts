import { createHash } from 'node:crypto';
import { utils } from 'ssh2';

export interface SshKeyPair {
  /** OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----…"), unencrypted. A secret: never log it. */
  readonly privateKey: string;
  /** One authorized_keys line: "ssh-ed25519 AAAA… comment". */
  readonly publicKey: string;
}

/**
 * A fresh ed25519 key pair in OpenSSH formats: the controller's own SSH key, or a droplet's host key (given to
 * cloud-init in `ssh_keys` so the controller knows the droplet's identity before it ever connects).
 */
export function generateEd25519KeyPair(comment: string): SshKeyPair {
  if (/[\r\n]/.test(comment)) throw new Error('SSH key comment must be a single line');
  const pair = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: pair.private, publicKey: pair.public.trim() };
}

/** OpenSSH's SHA256 fingerprint of a public key line ("SHA256:…", as `ssh-keygen -lf` prints it). */
export function publicKeyFingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new Error('Not an OpenSSH public key line ("type base64 comment")');
  const digest = createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64');
  return `SHA256:${digest.replace(/=+$/, '')}`;
}
