/**
 * Every error mlgrid raises on purpose: a stable `code`, an HTTP status from one catalogue, and the
 * field at fault (`target`, a JSON path such as `properties.filter.advancedFilters[2].values`).
 */
export const ERROR_STATUS = {
  InvalidRequestContent: 400,
  InvalidArgument: 400,
  InvalidResourceName: 400,
  InvalidEvent: 400,
  TooManyEvents: 400,
  UnsupportedMediaType: 415,
  Unauthorized: 401,
  Forbidden: 403,
  /** Azure's RBAC refusal: authenticated, but no role grants the action over the scope. */
  AuthorizationFailed: 403,
  ResourceNotFound: 404,
  RouteNotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  BadGateway: 502,
  ServiceUnavailable: 503,
  GatewayTimeout: 504,
  InternalServerError: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export class MlgridError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly target?: string,
    readonly details: ErrorDetail[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MlgridError';
    this.status = ERROR_STATUS[code];
  }
}

/** A 400 naming the field at fault; the workhorse of request validation. */
export function invalid(
  target: string,
  message: string,
  code: ErrorCode = 'InvalidRequestContent',
): MlgridError {
  return new MlgridError(code, `${target}: ${message}`, target, [{ code, message, target }]);
}

export function notFound(what: string, id: string): MlgridError {
  return new MlgridError('ResourceNotFound', `The ${what} '${id}' was not found.`);
}
