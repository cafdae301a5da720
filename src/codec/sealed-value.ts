import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const PREFIX = 'sealed:v1:';
const ALGORITHM = 'aes-256-gcm';
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/**
 * Seals one credential (an SMTP password, a Resend key, a magic link) into an opaque string that may travel through
 * workflow inputs and results: the payload codec already encrypts history, but the codec server decodes it for the
 * Temporal UI, and a credential must stay unreadable even there. Only a process holding TRIGGER_OPS_CODEC_KEY (the
 * CLI, the worker) can open it. The key is derived from the codec key, so no second key needs managing.
 */
export interface Sealer {
  seal(plain: string): string;
  /** Throws when the value was not sealed with this key (another key, forged, cut). */
  unseal(sealed: string): string;
}

export function createSealer(codecKey: Buffer): Sealer {
  const key = Buffer.from(hkdfSync('sha256', codecKey, Buffer.alloc(0), 'trigger-ops sealed value v1', 32));
  return {
    seal(plain) {
      const iv = randomBytes(IV_LENGTH);
      const cipher = createCipheriv(ALGORITHM, key, iv);
      const data = Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${PREFIX}${data.toString('base64url')}`;
    },
    unseal(sealed) {
      if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed value (expected "sealed:v1:…", made by the trigger-ops CLI)');
      const data = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
      try {
        const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_LENGTH));
        decipher.setAuthTag(data.subarray(data.length - TAG_LENGTH));
        return Buffer.concat([decipher.update(data.subarray(IV_LENGTH, data.length - TAG_LENGTH)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('a sealed value does not open with this TRIGGER_OPS_CODEC_KEY: it was sealed with another key, or is corrupt');
      }
    },
  };
}
