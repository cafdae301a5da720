import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { utils } from 'ssh2';
import { generateEd25519KeyPair, publicKeyFingerprint } from '../../src/remote/keys';

describe('generateEd25519KeyPair', () => {
  it('returns an OpenSSH private key and a one-line public key with the comment', () => {
    const pair = generateEd25519KeyPair('tops-prod host');
    assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----\n$/);
    assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+={0,2} tops-prod host$/);
    const parsed = utils.parseKey(pair.privateKey);
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed));
    assert.equal(parsed.type, 'ssh-ed25519');
    assert.equal(parsed.getPublicSSH().toString('base64'), pair.publicKey.split(' ')[1]);
  });

  it('writes a key whose public half starts with zero bytes correctly (ssh2 got 1 in 256 wrong): it parses, signs and verifies', () => {
    // The raw 32-byte public key starts after "ssh-ed25519" (4 + 11 bytes) and its own length (4 bytes).
    const rawPublic = (pair: { publicKey: string }) => Buffer.from(pair.publicKey.split(' ')[1] ?? '', 'base64').subarray(19);
    let pair = generateEd25519KeyPair('zero');
    for (let i = 0; i < 20_000 && rawPublic(pair)[0] !== 0; i++) pair = generateEd25519KeyPair('zero');
    assert.equal(rawPublic(pair).length, 32);
    assert.equal(rawPublic(pair)[0], 0);
    const parsed = utils.parseKey(pair.privateKey);
    assert.ok(!(parsed instanceof Error) && !Array.isArray(parsed), String(parsed));
    assert.equal(parsed.getPublicSSH().toString('base64'), pair.publicKey.split(' ')[1]);
    const publicParsed = utils.parseKey(pair.publicKey);
    assert.ok(!(publicParsed instanceof Error) && !Array.isArray(publicParsed));
    assert.ok(publicParsed.verify(Buffer.from('data'), parsed.sign(Buffer.from('data'))));
  });

  it('makes a different key each time and refuses multi-line comments', () => {
    assert.notEqual(generateEd25519KeyPair('a').publicKey, generateEd25519KeyPair('a').publicKey);
    assert.throws(() => generateEd25519KeyPair('a\nb'), /single line/);
  });
});

describe('publicKeyFingerprint', () => {
  it('matches the SHA256 fingerprint format, and ssh-keygen when it is installed', () => {
    const pair = generateEd25519KeyPair('fp');
    const fingerprint = publicKeyFingerprint(pair.publicKey);
    assert.match(fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    try {
      writeFileSync(join(dir, 'key.pub'), `${pair.publicKey}\n`);
      const res = spawnSync('ssh-keygen', ['-lf', join(dir, 'key.pub')], { encoding: 'utf8' });
      if (!res.error && res.status === 0) assert.equal(res.stdout.split(' ')[1], fingerprint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects text that is not a public key line', () => {
    assert.throws(() => publicKeyFingerprint('nonsense'), /OpenSSH public key/);
  });
});
