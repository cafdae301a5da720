import { createHash } from 'node:crypto';

const KEY_TYPES = new Set([
  'ssh-rsa',
  'ssh-dss',
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

/**
 * DigitalOcean's SSH key fingerprint: the MD5 of the key blob as colon-separated hex (what `ssh-keygen -l -E md5`
 * prints). Undefined when the text is not an OpenSSH public key whose blob names its own type.
 */
export function sshKeyFingerprint(publicKey: string): string | undefined {
  const [type, base64] = publicKey.trim().split(/\s+/);
  if (!type || !base64 || !KEY_TYPES.has(type) || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const blob = Buffer.from(base64, 'base64');
  if (blob.length < 4) return undefined;
  const nameLength = blob.readUInt32BE(0);
  if (blob.subarray(4, 4 + nameLength).toString('latin1') !== type) return undefined;
  return (createHash('md5').update(blob).digest('hex').match(/../g) ?? []).join(':');
}
