import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import forge from 'node-forge';

/**
 * The sandbox's own certificate authority and the server certificate its HTTPS stand-ins present. Clients trust the
 * CA through configuration (TRIGGER_OPS_CA_CERTS names `caPath`), never by turning verification off.
 */
export interface SandboxTls {
  /** The CA certificate (PEM): what a client adds to its trusted roots. */
  readonly ca: string;
  /** Where the CA certificate is on disk; undefined for an in-memory one (createSandboxTls). */
  readonly caPath: string | undefined;
  /** The server's certificate (PEM) for 127.0.0.1, ::1 and localhost, signed by the CA. */
  readonly cert: string;
  /** The server certificate's private key (PEM). */
  readonly key: string;
}

// The CA's own key is not kept: nothing is signed after the first issue (a renewal makes a new CA).
const FILES = { ca: 'ca.pem', cert: 'server.pem', key: 'server-key.pem' } as const;
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
// Within what browsers accept (825 days), so the same certificate also works for a curious human with a browser.
const SERVER_DAYS = 825;
// A server certificate this close to expiry is issued anew with a new CA, rather than fail on a long-running sandbox.
const RENEW_BEFORE_MS = 30 * DAY_MS;
const SERVER_NAMES = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] } as const;

/**
 * The CA and server certificate kept in `dir` (created on first use, reused after, so a CA a user or a test already
 * trusts stays valid across restarts). Issued anew when a file is missing, unreadable or near expiry.
 */
export function ensureSandboxTls(dir: string): SandboxTls & { readonly caPath: string } {
  const existing = readSandboxTls(dir);
  if (existing) return existing;
  // Written whole into a directory of its own and renamed into place, so a concurrent start never pairs one
  // sandbox's CA with another's server certificate.
  mkdirSync(dirname(dir), { recursive: true });
  const staging = `${dir}.${randomBytes(6).toString('hex')}.tmp`;
  mkdirSync(staging, { mode: 0o700 });
  try {
    const issued = issue();
    writeFileSync(join(staging, FILES.ca), issued.ca);
    writeFileSync(join(staging, FILES.cert), issued.cert);
    writeFileSync(join(staging, FILES.key), issued.key, { mode: 0o600 });
    rmSync(dir, { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (err) {
      const winner = readSandboxTls(dir);
      if (!winner) throw err;
      return winner;
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const written = readSandboxTls(dir);
  if (!written) throw new Error(`the sandbox could not keep its certificates in ${dir}`);
  return written;
}

let inMemory: SandboxTls | undefined;

/**
 * A CA and server certificate that live only in memory, for a stand-in started on its own (as in its tests); one per
 * process, since issuing takes about half a second and a test file may start dozens.
 */
export function createSandboxTls(): SandboxTls {
  inMemory ??= { ...issue(), caPath: undefined };
  return inMemory;
}

function readSandboxTls(dir: string): (SandboxTls & { readonly caPath: string }) | undefined {
  const paths = Object.fromEntries(Object.entries(FILES).map(([k, f]) => [k, join(dir, f)])) as Record<keyof typeof FILES, string>;
  if (!Object.values(paths).every((p) => existsSync(p))) return undefined;
  try {
    const ca = readFileSync(paths.ca, 'utf8');
    const cert = readFileSync(paths.cert, 'utf8');
    const key = readFileSync(paths.key, 'utf8');
    const caCert = new X509Certificate(ca);
    const serverCert = new X509Certificate(cert);
    const usable =
      serverCert.checkIssued(caCert) &&
      serverCert.verify(caCert.publicKey) &&
      serverCert.checkPrivateKey(createPrivateKey(key)) &&
      SERVER_NAMES.ips.every((ip) => serverCert.checkIP(ip) !== undefined) &&
      Date.parse(serverCert.validTo) - Date.now() > RENEW_BEFORE_MS &&
      Date.parse(caCert.validTo) - Date.now() > RENEW_BEFORE_MS;
    return usable ? { ca, caPath: paths.ca, cert, key } : undefined;
  } catch {
    return undefined;
  }
}

/** Keys from node's crypto (fast, native); node-forge only assembles and signs the two certificates. */
function issue(): { ca: string; cert: string; key: string } {
  const caKeys = rsaKeyPair();
  const serverKeys = rsaKeyPair();
  const caSigner = forge.pki.privateKeyFromPem(caKeys.privateKey);
  const now = Date.now();

  const caName = [
    { name: 'commonName', value: 'trigger-ops sandbox CA' },
    { name: 'organizationName', value: 'trigger-ops sandbox' },
  ];
  const caCert = forge.pki.createCertificate();
  caCert.publicKey = forge.pki.publicKeyFromPem(caKeys.publicKey);
  caCert.serialNumber = serialNumber();
  caCert.validity.notBefore = new Date(now - 5 * 60_000);
  caCert.validity.notAfter = new Date(now + CA_DAYS * DAY_MS);
  caCert.setSubject(caName);
  caCert.setIssuer(caName);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caSigner, forge.md.sha256.create());

  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(serverKeys.publicKey);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + SERVER_DAYS * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caName);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      // 2 is a DNS name, 7 an IP address (RFC 5280's GeneralName tags).
      altNames: [...SERVER_NAMES.dns.map((value) => ({ type: 2, value })), ...SERVER_NAMES.ips.map((ip) => ({ type: 7, ip }))],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(caSigner, forge.md.sha256.create());

  return {
    ca: forge.pki.certificateToPem(caCert),
    cert: forge.pki.certificateToPem(cert),
    key: serverKeys.privateKey,
  };
}

function rsaKeyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/** A positive 128-bit serial (a leading zero nibble keeps DER from reading it as negative). */
function serialNumber(): string {
  return `0${randomBytes(16).toString('hex').slice(1)}`;
}
