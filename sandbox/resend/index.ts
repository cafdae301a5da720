import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { createServerLifecycle, listen, readBody, sendJson } from '../railway/http-util';

/**
 * A stand-in of Resend's send API (https://resend.com/docs/api-reference/emails/send-email), as strict as its
 * documented shapes: POST /emails with `Authorization: Bearer re_…`, a JSON body with `from`, `to` (an address or up
 * to 50), `subject` and one of `html`/`text`/`react`. Errors are `{ statusCode, name, message }`
 * (https://resend.com/docs/api-reference/errors): 401 missing_api_key, 403 invalid_api_key, 422
 * missing_required_field / validation_error.
 */

export interface ResendEmail {
  readonly id: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly replyTo: readonly string[];
  readonly subject: string;
  readonly text: string | undefined;
  readonly html: string | undefined;
}

export interface ResendApi {
  /** Base URL (the webapp stand-in's `https://api.resend.com`). */
  readonly url: string;
  /** A key the API accepts. */
  readonly apiKey: string;
  sent(): ResendEmail[];
  close(): Promise<void>;
}

const ADDRESS = /^(?:[^<>]*<)?[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+>?$/;

export async function startResendApi(options: { host?: string; port?: number } = {}): Promise<ResendApi> {
  const apiKey = `re_${randomBytes(12).toString('hex')}`;
  const sent: ResendEmail[] = [];
  const error = (status: number, name: string, message: string) => ({ status, body: { statusCode: status, name, message } });
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (req.method !== 'POST' || path !== '/emails') {
        return sendJson(res, 404, { statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' });
      }
      const key = /^Bearer\s+(\S+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (!key) return sendJson(res, 401, error(401, 'missing_api_key', 'Missing API key in the authorization header.').body);
      if (key !== apiKey) return sendJson(res, 403, error(403, 'invalid_api_key', 'API key is invalid').body);
      let body: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(await readBody(req));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        body = parsed as Record<string, unknown>;
      } catch {
        return sendJson(res, 422, error(422, 'validation_error', 'Invalid JSON body.').body);
      }
      const list = (v: unknown): string[] | undefined => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
      const missing = ['from', 'to', 'subject'].filter((f) => body[f] === undefined);
      if (missing.length > 0) return sendJson(res, 422, error(422, 'missing_required_field', `Missing \`${missing[0]}\` field.`).body);
      const from = typeof body['from'] === 'string' ? body['from'] : '';
      const to = list(body['to']);
      const replyTo = body['reply_to'] === undefined ? [] : list(body['reply_to']);
      if (!ADDRESS.test(from)) return sendJson(res, 422, error(422, 'validation_error', 'Invalid `from` field. The email address needs to follow the `email@example.com` or `Name <email@example.com>` format.').body);
      if (!to || to.length === 0 || to.length > 50 || !to.every((a) => ADDRESS.test(a))) {
        return sendJson(res, 422, error(422, 'validation_error', 'Invalid `to` field. Give an email address or an array of at most 50.').body);
      }
      if (!replyTo || !replyTo.every((a) => ADDRESS.test(a))) return sendJson(res, 422, error(422, 'validation_error', 'Invalid `reply_to` field.').body);
      if (typeof body['subject'] !== 'string') return sendJson(res, 422, error(422, 'validation_error', 'Invalid `subject` field.').body);
      if (typeof body['text'] !== 'string' && typeof body['html'] !== 'string' && body['react'] === undefined) {
        return sendJson(res, 422, error(422, 'validation_error', 'Missing `html`, `text`, or `react` field.').body);
      }
      const email: ResendEmail = {
        id: randomUUID(),
        from,
        to,
        replyTo,
        subject: body['subject'],
        text: typeof body['text'] === 'string' ? body['text'] : undefined,
        html: typeof body['html'] === 'string' ? body['html'] : undefined,
      };
      sent.push(email);
      return sendJson(res, 200, { id: email.id });
    })().catch(() => res.destroy());
  });
  const lifecycle = createServerLifecycle(server);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  return { url: `http://${host}:${port}`, apiKey, sent: () => [...sent], close: () => lifecycle.close() };
}
