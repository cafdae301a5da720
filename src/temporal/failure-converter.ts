import { DefaultFailureConverter } from '@temporalio/common';

// Loaded by path inside the workflow sandbox and by the client: failure messages and stack traces move into an
// encoded payload, so the payload codec encrypts them like everything else.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
