import { DecodeError } from '@distlog/proto';

/**
 * What can go wrong with a request or a batch, by kind — the one table every receiver
 * answers from and every sink retries by. Neutral: receivers, sinks, the spool and auth
 * all import it, and it imports nothing of theirs.
 *
 * Permanent kinds: the client must not send the same thing again unchanged. Retryable:
 * the same request may succeed later (`retryAfterSeconds` says when to try).
 */
export type ErrorKind =
  'invalid' | 'too_large' | 'unauthenticated' | 'forbidden' | 'throttled' | 'unavailable' | 'internal';

/** gRPC status codes (grpc/status.proto) used in answers, on gRPC and in OTLP/HTTP error bodies. */
export const GRPC_STATUS = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** Each kind: its HTTP status, its gRPC status, whether a retry may succeed. */
export const ERROR_KINDS: Record<ErrorKind, { http: number; grpc: number; retryable: boolean }> = {
  invalid: { http: 400, grpc: GRPC_STATUS.INVALID_ARGUMENT, retryable: false },
  too_large: { http: 413, grpc: GRPC_STATUS.RESOURCE_EXHAUSTED, retryable: false },
  unauthenticated: { http: 401, grpc: GRPC_STATUS.UNAUTHENTICATED, retryable: false },
  forbidden: { http: 403, grpc: GRPC_STATUS.PERMISSION_DENIED, retryable: false },
  throttled: { http: 429, grpc: GRPC_STATUS.RESOURCE_EXHAUSTED, retryable: true },
  unavailable: { http: 503, grpc: GRPC_STATUS.UNAVAILABLE, retryable: true },
  internal: { http: 500, grpc: GRPC_STATUS.INTERNAL, retryable: false },
};

/** An error that knows its kind. */
export class CollectorError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    /** For retryable kinds: when the client should try again. */
    readonly retryAfterSeconds = 1,
  ) {
    super(message);
    this.name = 'CollectorError';
  }

  get retryable(): boolean {
    return ERROR_KINDS[this.kind].retryable;
  }
}

/** What the client sent is wrong (HTTP 400 / gRPC INVALID_ARGUMENT). */
export class InvalidRequestError extends CollectorError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'InvalidRequestError';
  }
}

/** A request body larger than the configured limit (HTTP 413 / gRPC RESOURCE_EXHAUSTED). */
export class RequestTooLargeError extends CollectorError {
  constructor(message: string) {
    super('too_large', message);
    this.name = 'RequestTooLargeError';
  }
}

/** The collector cannot take the request now; the client should retry later (HTTP 503 / gRPC UNAVAILABLE). */
export class UnavailableError extends CollectorError {
  constructor(message: string, retryAfterSeconds = 1) {
    super('unavailable', message, retryAfterSeconds);
    this.name = 'UnavailableError';
  }
}

/** The kind of any error: its own, `invalid` for bytes that do not decode, `internal` for the rest (a bug). */
export function kindOf(err: unknown): ErrorKind {
  if (err instanceof CollectorError) return err.kind;
  return err instanceof DecodeError ? 'invalid' : 'internal';
}
