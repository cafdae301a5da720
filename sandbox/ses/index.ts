import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { createServerLifecycle, listen, readBody } from '../railway/http-util';
import { parseAuthorization, signature } from './sigv4';

/**
 * A stand-in of Amazon SES v2's SendEmail (POST /v2/email/outbound-emails,
 * https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html), as the upstream webapp calls it
 * (nodemailer's SES transport over SESv2Client, raw MIME content): SigV4-signed for service `ses`, the key pair it
 * knows, a request no older than 15 minutes; errors as SES's REST-JSON protocol sends them (x-amzn-ErrorType and
 * `{ message }`).
 */

export interface SesEmail {
  readonly messageId: string;
  readonly region: string;
  readonly from: string | undefined;
  readonly to: readonly string[];
  /** The raw MIME message. */
  readonly raw: string;
}

export interface SesApi {
  /** Base URL, for every region (https://email.<region>.amazonaws.com for real). */
  readonly url: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  sent(): SesEmail[];
  close(): Promise<void>;
}

const SKEW_MS = 15 * 60 * 1000;

export async function startSesApi(options: { host?: string; port?: number } = {}): Promise<SesApi> {
  const accessKeyId = `AKIA${randomBytes(8).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64');
  const sent: SesEmail[] = [];
  const fail = (res: ServerResponse, status: number, type: string, message: string) => {
    const text = JSON.stringify({ message });
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });
    res.end(text);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const body = await readBody(req);
      if (req.method !== 'POST' || url.pathname !== '/v2/email/outbound-emails') return fail(res, 404, 'NotFoundException', 'Unknown operation');
      const auth = parseAuthorization(req.headers.authorization);
      if (!auth) return fail(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      if (auth.accessKeyId !== accessKeyId) return fail(res, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      const [date = '', region = '', service = '', terminator = ''] = auth.scope.split('/');
      const amzDate = String(req.headers['x-amz-date'] ?? '');
      if (service !== 'ses' || terminator !== 'aws4_request' || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region) || amzDate.slice(0, 8) !== date) {
        return fail(res, 403, 'InvalidSignatureException', `Credential should be scoped to a valid region and to service 'ses' (got ${auth.scope}).`);
      }
      const at = Date.parse(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
      if (!Number.isFinite(at) || Math.abs(Date.now() - at) > SKEW_MS) return fail(res, 403, 'InvalidSignatureException', 'Signature expired: the request time is more than 15 minutes from now.');
      if (!auth.signedHeaders.includes('host') || !auth.signedHeaders.includes('x-amz-date')) {
        return fail(res, 403, 'InvalidSignatureException', "'Host' and 'X-Amz-Date' must be signed.");
      }
      const headers = Object.fromEntries(auth.signedHeaders.map((h) => [h, String(req.headers[h] ?? '')]));
      const expected = signature({ method: 'POST', path: url.pathname, query: url.search.slice(1), headers, body }, auth.signedHeaders, secretAccessKey, amzDate, auth.scope);
      if (expected !== auth.signature) {
        return fail(res, 403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.');
      }
      let input: { FromEmailAddress?: unknown; Destination?: { ToAddresses?: unknown }; Content?: { Raw?: { Data?: unknown } } };
      try {
        input = JSON.parse(body) as typeof input;
      } catch {
        return fail(res, 400, 'BadRequestException', 'The request body is not valid JSON.');
      }
      const data = input.Content?.Raw?.Data;
      if (typeof data !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(data)) return fail(res, 400, 'BadRequestException', 'Content.Raw.Data must be the raw message, base64-encoded.');
      const raw = Buffer.from(data, 'base64').toString('utf8');
      const to = Array.isArray(input.Destination?.ToAddresses) ? (input.Destination.ToAddresses as unknown[]).filter((a): a is string => typeof a === 'string') : [];
      if (to.length === 0 && !/^to:/im.test(raw)) return fail(res, 400, 'BadRequestException', 'Missing destination: no Destination and no To header.');
      const messageId = `${randomBytes(16).toString('hex')}-000000`;
      sent.push({ messageId, region, from: typeof input.FromEmailAddress === 'string' ? input.FromEmailAddress : undefined, to, raw });
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ MessageId: messageId }));
    })().catch(() => res.destroy());
  });
  const lifecycle = createServerLifecycle(server);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  return { url: `http://${host}:${port}`, accessKeyId, secretAccessKey, sent: () => [...sent], close: () => lifecycle.close() };
}
