import { WIRE_LEN, WIRE_VARINT, WireWriter } from '@distlog/proto';

/**
 * OTLP responses: ExportLogsServiceResponse (with partial_success when records were
 * refused) and, for HTTP errors, google.rpc.Status — each in the request's encoding.
 */
export interface PartialSuccess {
  rejectedLogRecords: number;
  errorMessage: string;
}

export function encodeExportResponseProtobuf(partial?: PartialSuccess): Buffer {
  if (!partial || (partial.rejectedLogRecords === 0 && partial.errorMessage === '')) return Buffer.alloc(0);
  const w = new WireWriter(64 + partial.errorMessage.length * 3);
  w.tag(1, WIRE_LEN);
  const at = w.begin();
  if (partial.rejectedLogRecords > 0) {
    w.tag(1, WIRE_VARINT);
    w.varint(partial.rejectedLogRecords);
  }
  w.stringField(2, partial.errorMessage);
  w.end(at);
  return Buffer.from(w.bytes());
}

/** ExportTraceServiceResponse has the same fields, its count named `rejectedSpans`. */
export function encodeExportResponseJson(
  partial?: PartialSuccess,
  signal: 'logs' | 'traces' = 'logs',
): string {
  if (!partial || (partial.rejectedLogRecords === 0 && partial.errorMessage === '')) return '{}';
  return JSON.stringify({
    partialSuccess: {
      [signal === 'traces' ? 'rejectedSpans' : 'rejectedLogRecords']: String(partial.rejectedLogRecords),
      errorMessage: partial.errorMessage,
    },
  });
}

/** google.rpc.Status: code (field 1), message (field 2). */
export function encodeStatusProtobuf(code: number, message: string): Buffer {
  const w = new WireWriter(16 + message.length * 3);
  w.tag(1, WIRE_VARINT);
  w.varint(code);
  w.tag(2, WIRE_LEN);
  w.string(message);
  return Buffer.from(w.bytes());
}

export function encodeStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

/** Records refused while decoding plus those refused by rule, as one partial success (undefined when none). */
export function mergePartial(
  decoded: { rejected: number; rejectionMessage: string },
  fromPipeline: PartialSuccess | undefined,
): PartialSuccess | undefined {
  const rejected = decoded.rejected + (fromPipeline?.rejectedLogRecords ?? 0);
  if (rejected === 0) return fromPipeline;
  const messages = [
    decoded.rejected > 0 ? `${decoded.rejected} invalid: ${decoded.rejectionMessage}` : '',
    fromPipeline?.errorMessage ?? '',
  ];
  return { rejectedLogRecords: rejected, errorMessage: messages.filter(Boolean).join('; ') };
}
