import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../shared/errors';

// Extra trust for the HTTPS APIs, from configuration only: TLS verification itself is never turned off. Node reads
// NODE_EXTRA_CA_CERTS once, at process start, which cannot serve a sandbox started inside the same process; a file
// named in config and given to each client's agent can.

/** The variable that names the extra CA file: what every certificate error tells the user to set. */
export const CA_CERTS_VARIABLE = 'TRIGGER_OPS_CA_CERTS';

/** The PEM text of the file TRIGGER_OPS_CA_CERTS names; a ConfigError naming the variable when it holds no certificate. */
export function readCaCerts(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConfigError(`${CA_CERTS_VARIABLE}: cannot read ${path} (${typeof code === 'string' ? code : String(err)}); name a PEM file of CA certificates, or unset it`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    if (blocks.length === 0) throw new Error('no certificate');
    for (const block of blocks) new X509Certificate(block);
  } catch {
    throw new ConfigError(`${CA_CERTS_VARIABLE}: ${path} holds no readable PEM certificate (-----BEGIN CERTIFICATE-----); name a PEM file of CA certificates, or unset it`);
  }
  return pem;
}

/**
 * An HTTPS agent that trusts Node's bundled roots and the given CAs (PEM). Giving an agent `ca` replaces the default
 * roots, hence both. Connections are kept alive, as by Node's global agent.
 */
export function httpsAgentTrusting(extraCa: string): Agent {
  return new Agent({ ca: [...rootCertificates, extraCa], keepAlive: true });
}

// OpenSSL's verdicts that mean "signed by a CA this client does not trust": fixed by trusting the CA.
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);
// The certificate itself is wrong (expired, another host's, tampered): no CA setting fixes that.
const INVALID = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/**
 * What to tell the user about a failed TLS verification (by the transport's error code), or undefined when the code
 * is not a certificate verdict. Built from the code alone, so nothing the request carried can reach it.
 */
export function certificateProblem(code: string | undefined, urlVariable: string): string | undefined {
  if (code === undefined) return undefined;
  if (UNTRUSTED.has(code)) {
    return `the server's TLS certificate is not signed by a trusted CA (${code}): if ${urlVariable} points at a server with a CA of its own (such as the sandbox), set ${CA_CERTS_VARIABLE} to a PEM file of that CA`;
  }
  if (INVALID.has(code)) return `the server's TLS certificate is not valid for it (${code}): check ${urlVariable}`;
  return undefined;
}
