import fc from 'fast-check';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { DEFAULT_DECODE_LIMITS } from './decode-common';
import { encodeLogsRequest, kv } from '../../testing/otlp-protobufjs';
import type { LogRow } from '../../model/log-row';
import { attributeValue } from '../../model/log-row';
import { RowBinaryWriter } from '../../sinks/clickhouse/row-binary';
import { requestIdOf } from './request-id';
import { patternIdOf } from '../../model/pattern';

// The decoder's fast path (lazy-row.ts) against the usual decoding: a record of the common
// shape becomes a LazyRow whose pre-encoded columns, strings read on demand, attribute
// lookups and pattern id are exactly what the usual decoding and encoding give.

const limits = { ...DEFAULT_DECODE_LIMITS, receivedAtUnixNano: 1_800_000_000_000_000_000n };

/** The same record as a plain LogRow: every field read through the row (the lazy ones decoded the usual way). */
function plain(row: LogRow): LogRow {
  return {
    timeUnixNano: row.timeUnixNano,
    observedTimeUnixNano: row.observedTimeUnixNano,
    severityNumber: row.severityNumber,
    severityText: row.severityText,
    body: row.body,
    attributes: { keys: [...row.attributes.keys], values: [...row.attributes.values] },
    droppedAttributesCount: row.droppedAttributesCount,
    traceFlags: row.traceFlags,
    traceId: row.traceId,
    spanId: row.spanId,
    eventName: row.eventName,
    resource: row.resource,
    scope: row.scope,
  };
}

function rowBinary(rows: readonly LogRow[], timeNanos: boolean): string {
  const w = new RowBinaryWriter(timeNanos, 42n);
  w.writeRows(rows, 7n);
  return w.bytes().toString('hex');
}

const ascii = fc.string({ unit: 'binary-ascii', maxLength: 40 });
const text = fc.oneof(
  { weight: 4, arbitrary: ascii },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme' }) },
);
const id = (bytes: number) =>
  fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.constant(Buffer.alloc(bytes)),
    fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b)),
  );
const record = fc.record({
  time: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n ** 64n - 1n })),
  observed: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2n ** 64n - 1n })),
  severity: fc.integer({ min: 0, max: 24 }),
  severityText: fc.constantFrom('', 'INFO', 'warn', 'Fehler'),
  body: fc.option(text, { nil: undefined }),
  attrs: fc.array(
    fc.tuple(text, fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: fc.integer() })),
    {
      maxLength: 6,
    },
  ),
  traceId: id(16),
  spanId: id(8),
  flags: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  dropped: fc.nat(1000),
  eventName: fc.constantFrom('', 'usage.login', 'distlog.scope.end'),
});

describe('the protobuf decoder fast path (LazyRow)', () => {
  it('gives the rows, RowBinary, attribute lookups and pattern ids of the usual decoding (property)', () => {
    let fast = 0;
    let usual = 0;
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), fc.boolean(), (records, timeNanos) => {
        const request = encodeLogsRequest({
          resource_logs: [
            {
              resource: { attributes: [kv('service.name', { string_value: 'svc' })] },
              scope_logs: [
                {
                  scope: { name: 'app', version: '1' },
                  log_records: records.map((r) => ({
                    time_unix_nano: r.time.toString(),
                    observed_time_unix_nano: r.observed.toString(),
                    severity_number: r.severity,
                    severity_text: r.severityText,
                    ...(r.body === undefined ? {} : { body: { string_value: r.body } }),
                    attributes: r.attrs.map(([k, v]) =>
                      kv(k, typeof v === 'string' ? { string_value: v } : { int_value: v }),
                    ),
                    trace_id: r.traceId,
                    span_id: r.spanId,
                    flags: r.flags,
                    dropped_attributes_count: r.dropped,
                    event_name: r.eventName,
                  })),
                },
              ],
            },
          ],
        });
        const { rows, rejected } = decodeLogsRequestProtobuf(request, limits);
        expect(rejected).toBe(0);
        for (const row of rows)
          if (row.rowBinary) fast++;
          else usual++;
        const copies = rows.map(plain);
        // Attribute lookups first: reading .attributes hands the strings out (and leaves the fast path).
        const keys = [...new Set(records.flatMap((r) => r.attrs.map(([k]) => k))), 'no.such.key'];
        const lookups = (rs: LogRow[]) => rs.map((r) => keys.map((k) => attributeValue(r, k)));
        const fresh = decodeLogsRequestProtobuf(request, limits).rows;
        expect(lookups(fresh)).toEqual(lookups(copies));
        expect(rowBinary(fresh, timeNanos)).toBe(rowBinary(copies, timeNanos));
        // The id a fast row hands out (the live tail reads it), kept with its encoded columns.
        for (const r of decodeLogsRequestProtobuf(request, limits).rows)
          if (r.rowBinary) expect(r.patternId).toEqual(patternIdOf(r.body));
      }),
      { numRuns: 300 },
    );
    // Both ways were taken, so the comparison compared something.
    expect(fast).toBeGreaterThan(100);
    expect(usual).toBeGreaterThan(100);
  });

  it('records read after the next request was decoded are encoded from their fields (the scratch moved on)', () => {
    const request = (body: string) =>
      encodeLogsRequest({
        resource_logs: [
          {
            scope_logs: [
              {
                log_records: [
                  {
                    time_unix_nano: '5',
                    body: { string_value: body },
                    attributes: [kv('k', { string_value: body })],
                  },
                ],
              },
            ],
          },
        ],
      });
    const [first] = decodeLogsRequestProtobuf(request('first request'), limits).rows;
    const expected = rowBinary(
      [plain(decodeLogsRequestProtobuf(request('first request'), limits).rows[0])],
      false,
    );
    const [second] = decodeLogsRequestProtobuf(request('second, longer request'), limits).rows;
    expect(first.rowBinary).toBeDefined();
    expect(rowBinary([first], false)).toBe(expected);
    expect(attributeValue(first, 'k')).toBe('first request');
    expect(attributeValue(second, 'k')).toBe('second, longer request');
  });

  it('a stage that changes a lazily decoded field is heard: the row is encoded from its fields', () => {
    const request = encodeLogsRequest({
      resource_logs: [
        {
          scope_logs: [
            {
              log_records: [
                {
                  time_unix_nano: '1',
                  body: { string_value: 'card declined' },
                  attributes: [kv('k', { string_value: 'v' })],
                },
              ],
            },
          ],
        },
      ],
    });
    const [row] = decodeLogsRequestProtobuf(request, limits).rows;
    expect(row.rowBinary).toBeDefined();
    row.attributes.values[0] = 'changed';
    expect(row.rowBinary).toBeUndefined();
    expect(rowBinary([row], false)).toBe(rowBinary([plain(row)], false));
    expect(rowBinary([row], false)).toContain(Buffer.from('changed').toString('hex'));
    row.body = 'card declined 42 times';
    expect(row.patternId).toBeUndefined();
    expect(rowBinary([row], false)).toBe(rowBinary([plain(row)], false));
  });
});

describe('the fast path’s times', () => {
  const request = (records: Array<{ time_unix_nano?: string; observed_time_unix_nano?: string }>) =>
    encodeLogsRequest({
      resource_logs: [
        { scope_logs: [{ log_records: records.map((r) => ({ ...r, body: { string_value: 'x' } })) }] },
      ],
    });

  it('are read from the request only when asked, and a stage that sets one is heard', () => {
    const [row] = decodeLogsRequestProtobuf(
      request([{ time_unix_nano: '1764000000500000000' }]),
      limits,
    ).rows;
    expect(row.rowBinary).toBeDefined();
    expect(row.timeSeconds).toBe(1_764_000_000);
    expect(row.timeUnixNano).toBe(1_764_000_000_500_000_000n);
    expect(row.observedTimeUnixNano).toBe(limits.receivedAtUnixNano);
    row.timeUnixNano = 1_700_000_000_000_000_000n;
    expect(row.rowBinary).toBeUndefined();
    expect(row.timeSeconds).toBeUndefined();
    for (const timeNanos of [false, true])
      expect(rowBinary([row], timeNanos)).toBe(rowBinary([plain(row)], timeNanos));
  });

  it('a record without either time is dated on arrival, and its request gets no id', () => {
    const body = request([{}, { observed_time_unix_nano: '7' }]);
    const { rows } = decodeLogsRequestProtobuf(body, limits);
    expect(rows.map((r) => r.rowBinary !== undefined)).toEqual([true, true]);
    expect(rows[0].timeUnixNano).toBe(limits.receivedAtUnixNano);
    expect(rows[1].timeUnixNano).toBe(7n);
    expect(requestIdOf(body, rows, limits.receivedAtUnixNano)).toBe(0n);
    expect(requestIdOf(body, rows.slice(1), limits.receivedAtUnixNano)).not.toBe(0n);
  });
});
