/**
 * Reading back RowBinary rows the collector wrote (row-binary.ts), as far as telling where
 * each row ends and which request it came in: a spooled batch is replayed without the rows
 * of requests another collector stored meanwhile (replayer.ts). Column by column, in the
 * order of the columns the bytes hold (LOG_COLUMNS, or an older spool file's).
 */

/** How each column is laid out in RowBinary. */
type Layout = 'u8' | 'u32' | 'u64' | 'string' | 'strings' | 'time';

const LAYOUT: Readonly<Record<string, Layout>> = {
  Timestamp: 'time',
  TimeUnixNano: 'u64',
  ObservedTimeUnixNano: 'u64',
  SeverityNumber: 'u8',
  SeverityText: 'string',
  ServiceName: 'string',
  ScopeName: 'string',
  ScopeVersion: 'string',
  EventName: 'string',
  Body: 'string',
  TraceId: 'string',
  SpanId: 'string',
  TraceFlags: 'u8',
  ResourceSchemaUrl: 'string',
  'ResourceAttributes.key': 'strings',
  'ResourceAttributes.value': 'strings',
  'ScopeAttributes.key': 'strings',
  'ScopeAttributes.value': 'strings',
  'LogAttributes.key': 'strings',
  'LogAttributes.value': 'strings',
  DroppedAttributesCount: 'u32',
  BatchId: 'u64',
  RequestId: 'u64',
  // Two UInt32 (its high and low half), eight bytes in all.
  PatternId: 'u64',
};

/** One row: its bytes `[start, end)` and the request it came in (0: none). */
export interface RowSpan {
  start: number;
  end: number;
  requestId: bigint;
}

/**
 * The rows of `bytes`, or undefined when the columns name no RequestId (spool files from
 * before request ids) or one this reader does not know. Throws on bytes that end mid-row.
 * @param timeNanos `Timestamp` is DateTime64(9) (eight bytes), else DateTime (four).
 */
export function rowsOf(bytes: Buffer, columns: readonly string[], timeNanos: boolean): RowSpan[] | undefined {
  const layouts = columns.map((c) => LAYOUT[c]);
  const request = columns.indexOf('RequestId');
  if (request < 0 || layouts.some((l) => l === undefined)) return undefined;
  const rows: RowSpan[] = [];
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw new Error(`RowBinary ends in the middle of a row at byte ${at}`);
  };
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      need(1);
      const b = bytes[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
      shift += 7;
      if (shift > 35) throw new Error(`a length over 2^35 at byte ${at}`);
    }
  };
  const skipString = () => {
    const n = varint();
    need(n);
    at += n;
  };
  while (at < bytes.length) {
    const start = at;
    let requestId = 0n;
    for (let c = 0; c < layouts.length; c++) {
      switch (layouts[c]) {
        case 'u8':
          need(1);
          at += 1;
          break;
        case 'u32':
          need(4);
          at += 4;
          break;
        case 'time':
          need(timeNanos ? 8 : 4);
          at += timeNanos ? 8 : 4;
          break;
        case 'u64':
          need(8);
          if (c === request) requestId = bytes.readBigUInt64LE(at);
          at += 8;
          break;
        case 'string':
          skipString();
          break;
        case 'strings':
          for (let n = varint(); n > 0; n--) skipString();
          break;
      }
    }
    rows.push({ start, end: at, requestId });
  }
  return rows;
}
