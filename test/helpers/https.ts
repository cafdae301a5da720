import { rootCertificates } from 'node:tls';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { loadConfig } from '../../src/config';
import { readCaCerts } from '../../src/activities/tls-trust';

/**
 * fetch for tests that call a sandbox stand-in directly: undici's, with an agent that trusts the sandbox's CA besides
 * the system roots (Node's global fetch takes no agent; verification is never turned off).
 */
export function fetchTrusting(ca: string): (url: string, init?: RequestInit) => Promise<Response> {
  const dispatcher = new Agent({ connect: { ca: [...rootCertificates, ca] } });
  return (url, init = {}) => fetch(url, { ...init, dispatcher });
}

/** The same, with the CA found as trigger-ops finds it: the file TRIGGER_OPS_CA_CERTS names in this environment. */
export function fetchTrustingConfig(env: Readonly<Record<string, string | undefined>>): (url: string, init?: RequestInit) => Promise<Response> {
  const path = loadConfig(env).caCertsPath;
  if (path === undefined) throw new Error('TRIGGER_OPS_CA_CERTS is not set in this environment');
  return fetchTrusting(readCaCerts(path));
}
