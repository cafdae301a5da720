import { signRequest } from '../ses/sigv4';

/**
 * What the webapp's `new SESv2Client()` is to nodemailer's SES transport: `send(new SendEmailCommand(input))`, with
 * region and credentials from the environment (AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the body as
 * REST-JSON (blobs base64) and SigV4-signed for service `ses`. It fails where the SDK fails: no region, no
 * credentials, an error answer.
 */
export class SendEmailCommand {
  constructor(readonly input: Record<string, unknown>) {}
}

export function sesClientFor(env: Readonly<Record<string, string>>, endpoint: string | undefined) {
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  return {
    config: { region: async () => region ?? '' },
    async send(command: unknown): Promise<{ MessageId?: string }> {
      if (!region) throw Object.assign(new Error('Region is missing'), { name: 'Error' });
      const accessKeyId = env['AWS_ACCESS_KEY_ID'];
      const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
      if (!accessKeyId || !secretAccessKey) throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
      const input = (command as SendEmailCommand).input;
      const body = JSON.stringify(toWire(input));
      const base = new URL(endpoint ?? `https://email.${region}.amazonaws.com`);
      const path = '/v2/email/outbound-emails';
      const headers = signRequest({ method: 'POST', path, headers: { host: base.host, 'content-type': 'application/json' }, body }, { accessKeyId, secretAccessKey }, region, 'ses');
      const res = await fetch(new URL(path, base), { method: 'POST', headers, body });
      const answer = (await res.json().catch(() => ({}))) as { message?: string; MessageId?: string };
      if (!res.ok) {
        const type = (res.headers.get('x-amzn-errortype') ?? 'UnknownError').split(':')[0] ?? 'UnknownError';
        throw Object.assign(new Error(answer.message ?? `HTTP ${res.status}`), { name: type });
      }
      return { ...(answer.MessageId !== undefined && { MessageId: answer.MessageId }) };
    },
  };
}

/** REST-JSON: blobs (Buffer, Uint8Array) as base64 strings. (JSON.stringify alone would turn a Buffer into its bytes as numbers.) */
function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(toWire);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toWire(v)]));
}
