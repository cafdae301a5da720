import { ApiError, apiFailureMapper } from '../api-error';

export { errorTypeForStatus } from '../api-error';

/** A failed call to the Trigger.dev webapp; the message never carries a token or secret that was sent. */
export class WebappApiError extends ApiError {
  override readonly name = 'WebappApiError';
}

export const toWebappFailure = apiFailureMapper(WebappApiError);
