import fc from 'fast-check';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { decodeLogsRequestJson } from './decode-json';
import { DEFAULT_DECODE_LIMITS } from './decode-common';
import { encodeLogsRequest, kv } from '../../testing/otlp-protobufjs';
import { DecodeError } from '@distlog/proto';

const limits = { ...DEFAULT_DECODE_LIMITS, receivedAtUnixNano: 1_800_000_000_000_000_000n };
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';

const fullRequest = {
  resource_logs: [
    {
      resource: {
        attributes: [
          kv('service.name', { string_value: 'checkout' }),
          kv('host.name', { string_value: 'h1' }),
        ],
        dropped_attributes_count: 1,
      },
      schema_url: 'https://opentelemetry.io/schemas/1.26.0',
      scope_logs: [
        {
          scope: { name: 'db', version: '1.2', attributes: [kv('pool', { bool_value: true })] },
          log_records: [
            {
              time_unix_nano: '1700000000123456789',
              observed_time_unix_nano: '1700000000223456789',
              severity_number: 17,
              severity_text: 'ERROR',
              body: { string_value: 'héllo wörld' },
              attributes: [
                kv('s', { string_value: 'x' }),
                kv('neg', { int_value: '-42' }),
                kv('max', { int_value: '9223372036854775807' }),
                kv('min', { int_value: '-9223372036854775808' }),
                kv('d', { double_value: 1.5 }),
                kv('b', { bool_value: false }),
                kv('raw', { bytes_value: Buffer.from([1, 2, 3]) }),
                kv('arr', {
                  array_value: {
                    values: [
                      { string_value: 'a"b' },
                      { int_value: 7 },
                      {
                        kvlist_value: {
                          values: [kv('n', { double_value: NaN }), kv('t', { bool_value: true })],
                        },
                      },
                    ],
                  },
                }),
              ],
              dropped_attributes_count: 2,
              flags: 0x101,
              trace_id: Buffer.from(TRACE, 'hex'),
              span_id: Buffer.from(SPAN, 'hex'),
              event_name: 'user.login',
            },
            { body: { kvlist_value: { values: [kv('k', { string_value: 'v' })] } } },
          ],
        },
      ],
    },
  ],
};

describe('decodeLogsRequestProtobuf', () => {
  it('decodes every LogRecord field and renders every AnyValue kind', () => {
    const { rows } = decodeLogsRequestProtobuf(encodeLogsRequest(fullRequest), limits);
    expect(rows).toHaveLength(2);
    const [row, second] = rows;
    expect(row).toMatchObject({
      timeUnixNano: 1700000000123456789n,
      observedTimeUnixNano: 1700000000223456789n,
      severityNumber: 17,
      severityText: 'ERROR',
      body: 'héllo wörld',
      droppedAttributesCount: 2,
      traceFlags: 1,
      traceId: TRACE,
      spanId: SPAN,
      eventName: 'user.login',
    });
    expect(row.attributes.keys).toEqual(['s', 'neg', 'max', 'min', 'd', 'b', 'raw', 'arr']);
    expect(row.attributes.values).toEqual([
      'x',
      '-42',
      '9223372036854775807',
      '-9223372036854775808',
      '1.5',
      'false',
      'AQID',
      '["a\\"b",7,{"n":"NaN","t":true}]',
    ]);
    expect(row.resource).toMatchObject({
      serviceName: 'checkout',
      schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
      droppedAttributesCount: 1,
    });
    expect(row.resource.attributes).toEqual({
      keys: ['service.name', 'host.name'],
      values: ['checkout', 'h1'],
    });
    expect(row.scope).toMatchObject({
      name: 'db',
      version: '1.2',
      attributes: { keys: ['pool'], values: ['true'] },
    });
    // Unset times fall back to the receive time; resource and scope objects are shared.
    expect(second.timeUnixNano).toBe(limits.receivedAtUnixNano);
    expect(second.observedTimeUnixNano).toBe(limits.receivedAtUnixNano);
    expect(second.body).toBe('{"k":"v"}');
    expect(second.resource).toBe(row.resource);
  });

  it('gives the same rows for the OTLP/JSON form of the same request', () => {
    const json = {
      resourceLogs: [
        {
          resource: {
            attributes: [
              { key: 'service.name', value: { stringValue: 'checkout' } },
              { key: 'host.name', value: { stringValue: 'h1' } },
            ],
            droppedAttributesCount: 1,
          },
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
          scopeLogs: [
            {
              scope: {
                name: 'db',
                version: '1.2',
                attributes: [{ key: 'pool', value: { boolValue: true } }],
              },
              logRecords: [
                {
                  timeUnixNano: '1700000000123456789',
                  observedTimeUnixNano: '1700000000223456789',
                  severityNumber: 'SEVERITY_NUMBER_ERROR',
                  severityText: 'ERROR',
                  body: { stringValue: 'héllo wörld' },
                  attributes: [
                    { key: 's', value: { stringValue: 'x' } },
                    { key: 'neg', value: { intValue: -42 } },
                    { key: 'max', value: { intValue: '9223372036854775807' } },
                    { key: 'min', value: { intValue: '-9223372036854775808' } },
                    { key: 'd', value: { doubleValue: 1.5 } },
                    { key: 'b', value: { boolValue: false } },
                    { key: 'raw', value: { bytesValue: 'AQID' } },
                    {
                      key: 'arr',
                      value: {
                        arrayValue: {
                          values: [
                            { stringValue: 'a"b' },
                            { intValue: '7' },
                            {
                              kvlistValue: {
                                values: [
                                  { key: 'n', value: { doubleValue: 'NaN' } },
                                  { key: 't', value: { boolValue: true } },
                                ],
                              },
                            },
                          ],
                        },
                      },
                    },
                  ],
                  droppedAttributesCount: 2,
                  flags: 257,
                  traceId: TRACE.toUpperCase(),
                  spanId: SPAN,
                  eventName: 'user.login',
                  someFutureField: { ignored: true },
                },
                { body: { kvlistValue: { values: [{ key: 'k', value: { stringValue: 'v' } }] } } },
              ],
            },
          ],
        },
      ],
    };
    const fromJson = decodeLogsRequestJson(JSON.stringify(json), limits);
    const fromProtobuf = decodeLogsRequestProtobuf(encodeLogsRequest(fullRequest), limits);
    expect(fromJson).toEqual(fromProtobuf);
  });

  it('takes a resource that arrives after its scope_logs', () => {
    const scopeLogs = encodeLogsRequest({
      resource_logs: [{ scope_logs: [{ log_records: [{ body: { string_value: 'x' } }] }] }],
    });
    const resource = encodeLogsRequest({
      resource_logs: [{ resource: { attributes: [kv('service.name', { string_value: 'late' })] } }],
    });
    // Both are `resource_logs` (field 1) wrappers: splice their inner bytes into one ResourceLogs.
    const inner = Buffer.concat([scopeLogs.subarray(2), resource.subarray(2)]);
    const request = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
    const [row] = decodeLogsRequestProtobuf(request, limits).rows;
    expect(row.resource.serviceName).toBe('late');
    expect(row.body).toBe('x');
  });

  it('skips unknown fields of every wire type', () => {
    const known = encodeLogsRequest({
      resource_logs: [{ scope_logs: [{ log_records: [{ severity_number: 9 }] }] }],
    });
    // field 15 varint, field 16 fixed64, field 17 fixed32, field 18 bytes, appended inside the LogRecord
    const unknown = Buffer.from([
      0x78, 0x01, 0x81, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x8d, 0x01, 1, 2, 3, 4, 0x92, 0x01, 0x01, 0x00,
    ]);
    const record = Buffer.concat([known.subarray(6), unknown]);
    const scope = Buffer.concat([Buffer.from([0x12, record.length]), record]);
    const rl = Buffer.concat([Buffer.from([0x12, scope.length]), scope]);
    const request = Buffer.concat([Buffer.from([0x0a, rl.length]), rl]);
    const { rows } = decodeLogsRequestProtobuf(request, limits);
    expect(rows).toHaveLength(1);
    expect(rows[0].severityNumber).toBe(9);
  });

  it('refuses damaged input with the path of the bad field', () => {
    const good = encodeLogsRequest(fullRequest);
    expect(() => decodeLogsRequestProtobuf(good.subarray(0, good.length - 3), limits)).toThrow(DecodeError);
    expect(() => decodeLogsRequestProtobuf(good.subarray(0, good.length - 3), limits)).toThrow(
      /^resource_logs\[0\]: length \d+ runs past the end/,
    );

    const badTrace = encodeLogsRequest({
      resource_logs: [{ scope_logs: [{ log_records: [{}, { trace_id: Buffer.from('abcd', 'hex') }] }] }],
    });
    // A bad record is refused alone (OTLP partial success); the others are kept.
    const partial = decodeLogsRequestProtobuf(badTrace, limits);
    expect(partial.rows).toHaveLength(1);
    expect(partial.rejected).toBe(1);
    expect(partial.rejectionMessage).toBe(
      'resource_logs[0].scope_logs[0].log_records[1].trace_id: must be 16 bytes, got 2',
    );
    // field 1 of the request sent as a varint instead of a message
    expect(() => decodeLogsRequestProtobuf(Buffer.from([0x08, 0x01]), limits)).toThrow(
      'resource_logs: wire type 0 (varint) where length-delimited was expected',
    );
    expect(() => decodeLogsRequestProtobuf(Buffer.from([0x13]), limits)).toThrow(
      /unsupported wire type 3 \(group start\)/,
    );
  });

  it('refuses records with values nested deeper than the limit', () => {
    let value: object = { string_value: 'leaf' };
    for (let i = 0; i < 40; i++) value = { array_value: { values: [value] } };
    const request = encodeLogsRequest({
      resource_logs: [{ scope_logs: [{ log_records: [{ body: value }] }] }],
    });
    expect(decodeLogsRequestProtobuf(request, limits)).toMatchObject({
      rows: [],
      rejected: 1,
      rejectionMessage: expect.stringMatching(/log_records\[0\]\.body: values nested deeper than 32 levels/),
    });
    expect(decodeLogsRequestProtobuf(request, { ...limits, maxNestingDepth: 64 }).rows[0].body).toMatch(
      /^\[\[\[/,
    );
  });

  it('agrees with protobufjs on arbitrary records (property)', () => {
    const record = fc.record({
      time: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }),
      severity: fc.integer({ min: 0, max: 24 }),
      body: fc.string({ unit: 'grapheme' }),
      attrs: fc.array(
        fc.tuple(fc.string(), fc.oneof(fc.string(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }))),
        {
          maxLength: 5,
        },
      ),
    });
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
        const request = {
          resource_logs: [
            {
              scope_logs: [
                {
                  log_records: records.map((r) => ({
                    time_unix_nano: r.time.toString(),
                    severity_number: r.severity,
                    body: { string_value: r.body },
                    attributes: r.attrs.map(([k, v]) =>
                      kv(k, typeof v === 'string' ? { string_value: v } : { int_value: v.toString() }),
                    ),
                  })),
                },
              ],
            },
          ],
        };
        const { rows } = decodeLogsRequestProtobuf(encodeLogsRequest(request), limits);
        expect(
          rows.map((r) => [r.timeUnixNano, r.severityNumber, r.body, r.attributes.keys, r.attributes.values]),
        ).toEqual(
          records.map((r) => [
            r.time,
            r.severity,
            r.body,
            r.attrs.map(([k]) => k),
            r.attrs.map(([, v]) => String(v)),
          ]),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('attribute value limit', () => {
  it('cuts longer values and marks the record with distlog.truncated, in both encodings', () => {
    const cut = { ...limits, maxAttributeValueLength: 5 };
    const proto = decodeLogsRequestProtobuf(
      encodeLogsRequest({
        resource_logs: [
          {
            scope_logs: [
              {
                log_records: [
                  {
                    attributes: [
                      kv('long', { string_value: 'abcdefghij' }),
                      kv('short', { string_value: 'ab' }),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
      cut,
    );
    expect(proto.rows[0].attributes).toEqual({
      keys: ['long', 'short', 'distlog.truncated'],
      values: ['abcde', 'ab', 'true'],
    });
    const json = decodeLogsRequestJson(
      JSON.stringify({
        resourceLogs: [
          {
            scopeLogs: [
              { logRecords: [{ attributes: [{ key: 'long', value: { stringValue: 'abcdefghij' } }] }] },
            ],
          },
        ],
      }),
      cut,
    );
    expect(json.rows[0].attributes).toEqual({
      keys: ['long', 'distlog.truncated'],
      values: ['abcde', 'true'],
    });
  });
});
