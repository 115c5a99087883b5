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
  const inner = Buffer.concat([
    partial.rejectedLogRecords > 0
      ? Buffer.concat([Buffer.from([0x08]), varint(partial.rejectedLogRecords)])
      : Buffer.alloc(0),
    partial.errorMessage ? lengthDelimited(2, Buffer.from(partial.errorMessage, 'utf8')) : Buffer.alloc(0),
  ]);
  return lengthDelimited(1, inner);
}

export function encodeExportResponseJson(partial?: PartialSuccess): string {
  if (!partial || (partial.rejectedLogRecords === 0 && partial.errorMessage === '')) return '{}';
  return JSON.stringify({
    partialSuccess: {
      rejectedLogRecords: String(partial.rejectedLogRecords),
      errorMessage: partial.errorMessage,
    },
  });
}

export function encodeStatusProtobuf(code: number, message: string): Buffer {
  return Buffer.concat([Buffer.from([0x08]), varint(code), lengthDelimited(2, Buffer.from(message, 'utf8'))]);
}

export function encodeStatusJson(code: number, message: string): string {
  return JSON.stringify({ code, message });
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(field << 3) | 2]), varint(bytes.length), bytes]);
}

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Buffer.from(bytes);
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
