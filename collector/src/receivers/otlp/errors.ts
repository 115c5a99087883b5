/**
 * A request the collector refuses because of what the client sent. Permanent: the
 * client must not retry it unchanged (HTTP 400 / gRPC INVALID_ARGUMENT).
 */
export class InvalidRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestError';
  }
}

/** A request body larger than the configured limit (HTTP 413 / gRPC RESOURCE_EXHAUSTED). */
export class RequestTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RequestTooLargeError';
  }
}

/** The collector cannot take the request now; the client should retry later (HTTP 503 / gRPC UNAVAILABLE). */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}
