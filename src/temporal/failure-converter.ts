import { ApplicationFailure, DefaultFailureConverter, type PayloadConverter, type ProtoFailure, type SerializationContext } from '@temporalio/common';

/** What a failure's clear `message` says in history: the real one is encrypted, and this says how to read it. */
export const ENCRYPTED_FAILURE_HINT =
  'Encrypted failure message: read it with `temporal workflow show --detailed --codec-endpoint http://127.0.0.1:8888` ' +
  'while `trigger-ops codec-server` runs';

/**
 * A refusal answered to its caller and never written to history: a query's (queries are not recorded). Its message
 * stays in clear, because a query's error reaches the Temporal CLI as that clear message only, even with the codec
 * server. Never for a workflow's, an update's or an activity's failure: those are kept in history.
 */
export class QueryRefusal extends ApplicationFailure {
  constructor(message: string, type: string) {
    super(message, type, true);
  }
}

const clear = new DefaultFailureConverter();

/**
 * Failure messages and stack traces move into an encoded payload (`encodedAttributes`), so the payload codec encrypts
 * them like everything else; SDK clients, the UI and `temporal workflow show --detailed` with the codec server read
 * them decoded. What stays in clear is the failure type and, instead of the SDK's bare "Encoded failure", a hint for
 * the places that only print the clear message (`temporal workflow describe`, the CLI's result line).
 */
class EncryptedFailureConverter extends DefaultFailureConverter {
  constructor() {
    super({ encodeCommonAttributes: true });
  }

  override errorToFailure(err: unknown, payloadConverter: PayloadConverter, context?: SerializationContext): ProtoFailure {
    if (err instanceof QueryRefusal) return clear.errorToFailure(err, payloadConverter, context);
    const failure = super.errorToFailure(err, payloadConverter, context);
    if (failure.encodedAttributes) failure.message = ENCRYPTED_FAILURE_HINT;
    return failure;
  }
}

// Loaded by path inside the workflow sandbox and by the client (src/temporal/connection.ts).
export const failureConverter = new EncryptedFailureConverter();
