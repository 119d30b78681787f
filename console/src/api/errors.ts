// The API's one error shape ({"error":{"code","message","details"}}) as the console shows it:
// the code, the message, and the field at fault (details.field), which forms show beside it.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string;
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    const field = details.field;
    this.field = typeof field === 'string' ? field : '';
  }

  /** "CODE: message" as the task panel and banners show it. */
  get summary(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** The error an answer carries; a body that is not the API's shape still gives a clear error. */
export function errorOf(status: number, body: unknown): ApiError {
  if (typeof body === 'object' && body !== null && 'error' in body) {
    const e = (body as { error: unknown }).error;
    if (typeof e === 'object' && e !== null) {
      const { code, message, details } = e as Record<string, unknown>;
      return new ApiError(
        status,
        typeof code === 'string' ? code : `HTTP_${status}`,
        typeof message === 'string' ? message : `HTTP ${status}`,
        typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : {},
      );
    }
  }
  return new ApiError(status, `HTTP_${status}`, `the server answered ${status}`);
}

/** The message for a form field from an error: only when the error names that field. */
export function fieldError(err: unknown, field: string): string {
  if (!(err instanceof ApiError) || err.field === '') return '';
  return err.field === field || err.field.startsWith(`${field}.`) ? err.summary : '';
}
