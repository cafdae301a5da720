import type { Payload, PayloadCodec } from '@temporalio/common';
import { UNDECODABLE_PAYLOAD } from '../shared/validation';

/** Encodings the SDK's default payload converter turns into values; any other would fail the workflow task. */
const KNOWN_ENCODINGS = new Set(['binary/null', 'binary/plain', 'json/plain']);

/**
 * The worker's codec: decodes like `inner`, but a payload it cannot decode (forged ciphertext, another key, an
 * unknown encoding, JSON that does not parse) becomes a JSON value naming why, `{ undecodablePayload: reason }`.
 * Workflows parse every input and message first (src/workflows/validate.ts), so such a payload is refused like
 * any malformed input, with its reason, instead of failing workflow tasks forever. Clients keep the strict codec:
 * there a payload they cannot read is an error to show.
 */
export class UndecodableMarkingCodec implements PayloadCodec {
  constructor(private readonly inner: PayloadCodec) {}

  encode(payloads: Payload[]): Promise<Payload[]> {
    return this.inner.encode(payloads);
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.decodeOne(p)));
  }

  private async decodeOne(payload: Payload): Promise<Payload> {
    let decoded: Payload;
    try {
      [decoded = payload] = await this.inner.decode([payload]);
    } catch (err) {
      return marker(err instanceof Error ? err.message : String(err));
    }
    const encoding = Buffer.from(decoded.metadata?.['encoding'] ?? []).toString();
    if (!KNOWN_ENCODINGS.has(encoding)) return marker(`unknown encoding ${JSON.stringify(encoding)}`);
    if (encoding === 'json/plain') {
      try {
        JSON.parse(Buffer.from(decoded.data ?? []).toString('utf8'));
      } catch {
        return marker('json/plain payload that is not JSON');
      }
    }
    return decoded;
  }
}

function marker(reason: string): Payload {
  return {
    metadata: { encoding: Buffer.from('json/plain') },
    data: Buffer.from(JSON.stringify({ [UNDECODABLE_PAYLOAD]: reason.slice(0, 500) })),
  };
}
