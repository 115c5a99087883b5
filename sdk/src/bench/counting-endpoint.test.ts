// The bench's counting endpoint (counting-endpoint.ts) decides the bench's "delivered" figures:
// its counts must be the records that arrived, by service, over both protocols, from the
// OTel SDK's own serializer and exporters (not only Distlog's).
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { createExporter } from '../export/exporters';
import { countLogRecords, startCountingEndpoint } from './counting-endpoint';
import type { CountingEndpoint } from './counting-endpoint';

const resources = {
  api: resourceFromAttributes({ 'host.name': 'h', 'service.name': 'api', 'service.version': '1' }),
  worker: resourceFromAttributes({ 'service.name': 'wörker ✓' }),
  none: resourceFromAttributes({ 'host.name': 'h' }),
};

function records(resource: keyof typeof resources, n: number): ReadableLogRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    hrTime: [1_764_000_000, i],
    hrTimeObserved: [1_764_000_000, i],
    severityNumber: 9,
    severityText: 'INFO',
    body: `line ${i} ${'x'.repeat(i * 10)}`,
    resource: resources[resource],
    instrumentationScope: { name: i % 2 ? 'a' : 'b' },
    attributes: { i, nested: { list: [1, 'two'] } },
    droppedAttributesCount: 0,
  }));
}

const batch = [...records('api', 7), ...records('worker', 3), ...records('api', 2), ...records('none', 4)];

describe('the SDK bench counts records without decoding them', () => {
  it('counts a request by service name', () => {
    const counts = new Map<string, number>();
    const total = countLogRecords(Buffer.from(ProtobufLogsSerializer.serializeRequest(batch)!), counts);
    expect(total).toBe(16);
    expect(Object.fromEntries(counts)).toEqual({ api: 9, 'wörker ✓': 3, '': 4 });
  });

  it('refuses what is not protobuf, by error', () => {
    expect(() => countLogRecords(Buffer.from([0x0a, 0xff]), new Map())).toThrow(/truncated|past the end/);
  });

  describe.each(['http/protobuf', 'grpc'] as const)('over %s', (protocol) => {
    let endpoint: CountingEndpoint;
    beforeAll(async () => {
      endpoint = await startCountingEndpoint();
    });
    afterAll(() => endpoint.close());

    it('answers the exporters with success and counts what they sent', async () => {
      const port = protocol === 'grpc' ? endpoint.grpcPort : endpoint.httpPort;
      const exporter = createExporter(protocol, `http://127.0.0.1:${port}`);
      for (let i = 0; i < 3; i++) {
        const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
          exporter.export(batch, resolve),
        );
        expect(result).toEqual({ code: 0 });
      }
      await exporter.shutdown();
      expect(Object.fromEntries(endpoint.counts)).toEqual({ api: 27, 'wörker ✓': 9, '': 12 });
    });
  });
});
