/**
 * The one rule for "the endpoint refused this request for its size", shared by the SDK's
 * exporter (sdk/src/export/sized-requests.ts) and the collector's OTLP forwarding
 * (collector/src/sinks/otlp/forward-sink.ts), both of which then split the request and
 * lower their limit: HTTP 413, or gRPC RESOURCE_EXHAUSTED (8) whose message says "larger
 * than max" — grpc-js, grpc-go and grpc-java servers word it so. RESOURCE_EXHAUSTED alone
 * may be throttling, which is retried instead.
 *
 * `code` is the HTTP status or the gRPC status code (OTel's exporter errors and grpc-js's
 * carry them so); the gRPC text is in `details` (grpc-js) or `message`.
 */
export function refusedAsTooLarge(error: { code?: unknown; details?: unknown; message?: unknown }): boolean {
  if (error.code === 413) return true;
  if (error.code !== 8) return false;
  const text = typeof error.details === 'string' ? error.details : error.message;
  return typeof text === 'string' && /larger than max/i.test(text);
}
