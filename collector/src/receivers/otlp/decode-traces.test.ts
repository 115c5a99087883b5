import { DecodeError, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT, WireWriter } from '@distlog/proto';
import { DEFAULT_DECODE_LIMITS } from './decode-common';
import { decodeTracesRequestProtobuf } from './decode-traces';

// The protobuf side of spans taken as scope records, on bytes written field by field here
// (the e2e test sends the official exporters' own bytes: otel-traces.test.ts).

const limits = { ...DEFAULT_DECODE_LIMITS, receivedAtUnixNano: 1_800_000_000_000_000_000n };
const TRACE = Buffer.from('0af7651916cd43dd8448eb211c80319c', 'hex');

function message(w: WireWriter, field: number, body: (w: WireWriter) => void): void {
  w.tag(field, WIRE_LEN);
  const at = w.begin();
  body(w);
  w.end(at);
}

function fixed64(w: WireWriter, field: number, value: bigint): void {
  w.tag(field, WIRE_FIXED64);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(value);
  w.raw(b);
}

function span(w: WireWriter, spanId: string, extra: (w: WireWriter) => void = () => undefined): void {
  message(w, 2, (s) => {
    s.tag(1, WIRE_LEN);
    s.lengthPrefixed(TRACE);
    if (spanId) {
      s.tag(2, WIRE_LEN);
      s.lengthPrefixed(Buffer.from(spanId, 'hex'));
    }
    s.stringField(5, 'work');
    fixed64(s, 7, 1_700_000_000_000_000_000n);
    fixed64(s, 8, 1_700_000_000_012_500_000n);
    extra(s);
  });
}

/** resource_spans with its scope_spans first and its resource after them (fields may come in any order). */
function request(scopeName: string, spans: (w: WireWriter) => void): Buffer {
  const w = new WireWriter(1024);
  message(w, 1, (rs) => {
    message(rs, 2, (ss) => {
      message(ss, 1, (scope) => scope.stringField(1, scopeName));
      spans(ss);
    });
    message(rs, 1, (res) =>
      message(res, 1, (kv) => {
        kv.stringField(1, 'service.name');
        message(kv, 2, (v) => v.stringField(1, 'billing'));
      }),
    );
  });
  return w.bytes();
}

describe('OTLP spans (protobuf) as scope records', () => {
  it('a span ends a scope: named, timed, its parent and kind kept, its service from a resource that came last', () => {
    const out = decodeTracesRequestProtobuf(
      request('billing-http', (w) =>
        span(w, '00f067aa0ba902b7', (s) => {
          s.tag(4, WIRE_LEN);
          s.lengthPrefixed(Buffer.from('b7ad6b7169203331', 'hex'));
          s.tag(6, WIRE_VARINT);
          s.varint(3);
        }),
      ),
      limits,
    );
    expect(out.rejected).toBe(0);
    const [row] = out.rows;
    const attrs = Object.fromEntries(row.attributes.keys.map((k, i) => [k, row.attributes.values[i]]));
    expect({
      service: row.resource.serviceName,
      scope: row.scope.name,
      event: row.eventName,
      time: row.timeUnixNano,
      body: row.body,
      span: row.spanId,
      severity: row.severityNumber,
    }).toEqual({
      service: 'billing',
      scope: 'billing-http',
      event: 'distlog.scope.end',
      time: 1_700_000_000_012_500_000n,
      body: 'work finished in 12.5 ms',
      span: '00f067aa0ba902b7',
      severity: 9,
    });
    expect(attrs).toEqual({
      'scope.name': 'work',
      'scope.status': 'ok',
      'scope.duration_ms': '12.5',
      'scope.parent_span_id': 'b7ad6b7169203331',
      'span.kind': 'client',
    });
  });

  it('a span without a span id is refused alone; one of Distlog’s scope tracer is left out', () => {
    const out = decodeTracesRequestProtobuf(
      request('billing-http', (w) => {
        span(w, '');
        span(w, '00f067aa0ba902b7');
      }),
      limits,
    );
    expect({ rows: out.rows.length, rejected: out.rejected, why: out.rejectionMessage }).toEqual({
      rows: 1,
      rejected: 1,
      why: 'resource_spans[0].scope_spans[0].spans[0].span_id: a span needs a span id',
    });
    expect(
      decodeTracesRequestProtobuf(
        request('@distlog/sdk', (w) => span(w, '00f067aa0ba902b7')),
        limits,
      ),
    ).toEqual({
      rows: [],
      rejected: 0,
      rejectionMessage: '',
    });
  });

  it('cut-off bytes refuse the whole request, naming where', () => {
    const bytes = request('billing-http', (w) => span(w, '00f067aa0ba902b7'));
    expect(() => decodeTracesRequestProtobuf(bytes.subarray(0, bytes.length - 5), limits)).toThrow(
      DecodeError,
    );
  });
});
