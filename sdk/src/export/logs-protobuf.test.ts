import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { decodeLogsRequestProtobuf, DEFAULT_RECEIVER_LIMITS } from '@distlog/collector';
import { serializeLogsRequest } from './logs-protobuf';

// The reference is the OTel SDK's own serializer (what @opentelemetry/exporter-logs-otlp-proto
// sends); the reader is the Distlog collector's decoder.
const otel = (records: ReadableLogRecord[]) => Buffer.from(ProtobufLogsSerializer.serializeRequest(records)!);
const ours = (records: ReadableLogRecord[]) => Buffer.from(serializeLogsRequest(records));

const api = resourceFromAttributes({
  'service.name': 'api',
  'service.instance.id': 'i-1',
  'process.pid': 4242,
  'host.arch': ['x64', 'arm64'],
  'cloud.ok': true,
});
const worker = resourceFromAttributes({ 'service.name': 'wörker ✓', ratio: 0.25 });
const db = { name: 'db', version: '1.2.3', schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' };
const http = { name: 'http' };
const trace = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

// DISTLOG_OTEL_LINE=current (jest.config.js) swaps in the OTel JS line Node 22/24 users get;
// the comparison below is only worth its name if the swap really happened.
describe('the OpenTelemetry JS line under test', () => {
  it(`is the ${process.env.DISTLOG_OTEL_LINE === 'current' ? 'current (3.x / 0.30x)' : "repository's (2.x / 0.223)"} one`, () => {
    const current = process.env.DISTLOG_OTEL_LINE === 'current';
    for (const name of [
      '@opentelemetry/otlp-transformer',
      '@opentelemetry/sdk-logs',
      '@opentelemetry/resources',
    ]) {
      expect(require.resolve(name).includes('/.cache/otel-current/')).toBe(current);
    }
  });
});

let n = 0;
function record(overrides: Partial<ReadableLogRecord>): ReadableLogRecord {
  n++;
  return {
    hrTime: [1_764_000_000 + n, 123_456_789],
    hrTimeObserved: [1_764_000_000 + n, 987_654_321],
    severityNumber: 9,
    severityText: 'INFO',
    body: `line ${n}`,
    resource: api,
    instrumentationScope: http,
    attributes: {},
    droppedAttributesCount: 0,
    ...overrides,
  };
}

const longText = 'é'.repeat(100) + 'x'.repeat(300); // > 127 bytes: two-byte lengths
const hugeText = 'z'.repeat(200_000); // three-byte lengths, buffer growth

const variety: ReadableLogRecord[] = [
  record({}),
  record({ spanContext: trace, eventName: 'order.placed' }),
  record({ spanContext: { ...trace, traceFlags: 0 }, severityNumber: 0, severityText: '' }),
  record({ severityNumber: undefined, severityText: undefined, body: undefined }),
  record({ body: null as never }),
  record({ body: 42, attributes: { neg: -7, big: 2 ** 60, min: -(2 ** 63), frac: 1.5, nan: Number.NaN } }),
  record({ body: { nested: { deeper: [1, 'two', { three: 3 }] }, flag: false } as never }),
  record({ body: ['a', 1, true, null] as never, attributes: { list: ['x', 'y'], empty: [], obj: {} } }),
  record({ body: new Uint8Array([0, 1, 2, 255]), attributes: { bytes: new Uint8Array([9, 8]) } }),
  record({ body: '🚀 ünïcödé ✓ \u0000 tab\t', attributes: { 'clé ✓': 'välue 🚀', surrogate: 'a\ud800b' } }),
  record({ body: longText, attributes: { long: longText }, droppedAttributesCount: 3 }),
  // Around the short key/value path's edges: text of 64 and 65 characters, a non-ASCII
  // character late in a key or a value, integers at 2^28, a 47- and a 48-character key.
  record({
    attributes: {
      at64: 'a'.repeat(64),
      at65: 'b'.repeat(65),
      lateAccent: 'abcdefgé',
      ['k'.repeat(46) + 'é']: 'v',
      below: 268_435_455,
      at: 268_435_456,
      zero: 0,
      ['k'.repeat(47)]: 'forty-seven',
      ['k'.repeat(48)]: 'forty-eight',
      empty: '',
    },
  }),
  record({ body: hugeText, resource: worker, instrumentationScope: db, spanContext: trace }),
  record({ resource: worker, instrumentationScope: http, attributes: { undef: undefined } as never }),
  record({ instrumentationScope: db }),
  // Times: the epoch, the last nanosecond of a second, and past 2106 (seconds beyond 2^32).
  record({ hrTime: [0, 0], hrTimeObserved: [0, 999_999_999] }),
  record({ hrTime: [4_400_000_000, 999_999_999], hrTimeObserved: [2 ** 33 + 17, 1] }),
];

describe('serializeLogsRequest', () => {
  it('writes the same bytes as the OTel SDK serializer for every kind of value', () => {
    for (const r of variety)
      expect({ body: r.body, bytes: ours([r]) }).toEqual({ body: r.body, bytes: otel([r]) });
    expect(ours(variety)).toEqual(otel(variety));
  });

  it('groups records by resource and scope as the OTel SDK does, for large batches too', () => {
    const batch = Array.from({ length: 2000 }, (_, i) =>
      record({
        resource: i % 3 === 0 ? worker : api,
        instrumentationScope: i % 2 ? db : http,
        spanContext: i % 5 ? trace : undefined,
        attributes: { i, user: `user-${i % 17}`, tags: ['a', 'b'], meta: { shard: i % 4 } },
      }),
    );
    expect(ours(batch)).toEqual(otel(batch));
  });

  it('is read back by the Distlog collector with every field in place', () => {
    const decoded = decodeLogsRequestProtobuf(ours(variety), {
      ...DEFAULT_RECEIVER_LIMITS,
      receivedAtUnixNano: 1n,
    });
    expect(decoded.rejected).toBe(0);
    expect(decoded.rows).toHaveLength(variety.length);
    const traced = decoded.rows.find((r) => r.eventName === 'order.placed')!;
    expect([traced.traceId, traced.spanId]).toEqual([trace.traceId, trace.spanId]);
    const huge = decoded.rows.find((r) => r.body.length === hugeText.length)!;
    expect(huge.body === hugeText).toBe(true);
    expect(huge.resource.serviceName).toBe('wörker ✓');
    expect(huge.scope).toMatchObject({ name: 'db', version: '1.2.3' });
  });
});
