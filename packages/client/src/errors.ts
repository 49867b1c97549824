/** An mlgrid (Azure-shaped) error response: `{"error": {"code", "message", "target", "details"}}`. */
import type { ArmErrorDetail } from '@mlgrid/protocol';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  /** Azure's error code, e.g. `InvalidRequestContent`, `ResourceNotFound`; `HttpError` when the body had none. */
  readonly code: string;
  /** The field at fault, e.g. `properties.modelUri` or `[3].eventTime`. */
  readonly target?: string;
  readonly details: ArmErrorDetail[];
  readonly method: string;
  readonly url: string;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    target?: string;
    details?: ArmErrorDetail[];
    method: string;
    url: string;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    if (init.target !== undefined) this.target = init.target;
    this.details = init.details ?? [];
    this.method = init.method;
    this.url = init.url;
  }

  /** Builds the error from a non-2xx response (the body is read here). */
  static async fromResponse(res: Response, method: string, url: string): Promise<ApiError> {
    const text = await res.text().catch(() => '');
    const base = { status: res.status, method, url: redact(url) };
    try {
      const err = (JSON.parse(text) as { error?: unknown }).error as Record<string, unknown> | undefined;
      if (err && typeof err.code === 'string') {
        return new ApiError({
          ...base,
          code: err.code,
          message: typeof err.message === 'string' ? err.message : err.code,
          ...(typeof err.target === 'string' ? { target: err.target } : {}),
          details: Array.isArray(err.details) ? (err.details as ArmErrorDetail[]) : [],
        });
      }
    } catch {
      // not JSON: fall through
    }
    const excerpt = text.slice(0, 200).trim();
    return new ApiError({
      ...base,
      code: 'HttpError',
      message: `${method} ${base.url} answered ${res.status}${excerpt ? `: ${excerpt}` : ''}`,
    });
  }
}

/** Query-string keys never shown in messages. */
function redact(url: string): string {
  return url.replace(/([?&](?:aeg-sas-key|code|sig)=)[^&]*/gi, '$1***');
}
