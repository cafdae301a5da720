/** DigitalOcean's error ids: the snake_case name of the HTTP status. */
const ERROR_IDS: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  500: 'server_error',
  503: 'service_unavailable',
};

const DEFAULT_MESSAGES: Readonly<Record<number, string>> = {
  401: 'Unable to authenticate you',
  404: 'The resource you were accessing could not be found.',
  429: 'API Rate limit exceeded.',
  500: 'Server Error',
};

export function errorIdFor(status: number): string {
  return ERROR_IDS[status] ?? (status >= 500 ? 'server_error' : 'bad_request');
}

/** An error the stand-in answers with, in DigitalOcean's `{id, message, request_id}` shape. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly id: string;

  constructor(
    readonly status: number,
    message?: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message ?? DEFAULT_MESSAGES[status] ?? `HTTP ${status}`);
    this.id = errorIdFor(status);
  }
}

export const notFound = (): ApiError => new ApiError(404);
export const unprocessable = (message: string): ApiError => new ApiError(422, message);
