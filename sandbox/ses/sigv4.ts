import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html),
 * what the AWS SDK's SESv2Client signs with and SES checks. The sandbox's webapp signs with it (playing the SDK)
 * and the SES stand-in verifies with it; test/unit/sigv4.test.ts checks it against AWS's published test vector.
 */

export interface SignableRequest {
  readonly method: string;
  /** Path, already URI-encoded as sent. */
  readonly path: string;
  readonly query?: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const sha256 = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function canonicalRequest(req: SignableRequest, signedHeaders: readonly string[]): string {
  const query = (req.query ?? '')
    .split('&')
    .filter(Boolean)
    .map((p) => p.split('=').map((x) => x ?? '') as [string, string?])
    .sort(([a, av = ''], [b, bv = '']) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v = '']) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.map((h) => `${h}:${(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [req.method, req.path, query, headers, signedHeaders.join(';'), sha256(req.body)].join('\n');
}

/** The signature of a request for one credential scope (`yyyymmdd/region/service/aws4_request`). */
export function signature(req: SignableRequest, signedHeaders: readonly string[], secret: string, amzDate: string, scope: string): string {
  const [date = '', region = '', service = ''] = scope.split('/');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest(req, signedHeaders))].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** Adds x-amz-date and the Authorization header, as the SDK does. */
export function signRequest(
  req: SignableRequest,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string },
  region: string,
  service: string,
  now = new Date(),
): Record<string, string> {
  const amzDate = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
  const headers: Record<string, string> = { ...req.headers, 'x-amz-date': amzDate };
  const signed = Object.keys(headers).map((h) => h.toLowerCase()).sort();
  const sig = signature({ ...req, headers }, signed, credentials.secretAccessKey, amzDate, scope);
  return { ...headers, authorization: `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${sig}` };
}

/** The parts of an Authorization header, or undefined when it is not SigV4. */
export function parseAuthorization(header: string | undefined): { accessKeyId: string; scope: string; signedHeaders: string[]; signature: string } | undefined {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/([^,\s]+), ?SignedHeaders=([^,\s]+), ?Signature=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return undefined;
  return { accessKeyId: m[1] ?? '', scope: m[2] ?? '', signedHeaders: (m[3] ?? '').split(';'), signature: m[4] ?? '' };
}
