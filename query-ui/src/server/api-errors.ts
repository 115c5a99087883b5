/**
 * Errors the query API answers with their own status, by class (never by message text):
 * the route's input was wrong (400), what it names does not exist (404), the caller may
 * not read it (403). Anything else is a 500 — or a ClickHouse refusal of the user's own
 * input (routes/errors.ts).
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    /** Extra fields of the JSON answer (e.g. where in a query the mistake is). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** A parameter, filter, cursor or id the caller sent is not valid (400). */
export class InputError extends ApiError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(400, message, details);
    this.name = 'InputError';
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(404, message);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string) {
    super(403, message);
    this.name = 'ForbiddenError';
  }
}
