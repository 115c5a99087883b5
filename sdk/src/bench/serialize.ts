// The export request's encoding alone: the OTel SDK's serializer (what
// @opentelemetry/exporter-logs-otlp-proto sends) against Distlog's, on batches of 512
// records shaped as the pino bench's (a line under a span, three attributes). Part of
// `npm run bench -w @distlog/sdk`; prints one table.
import { ProtobufLogsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { serializeLogsRequest } from '../export/logs-protobuf';

const BATCH = 512;
const BATCHES = Number(process.env.BENCH_SERIALIZE_BATCHES ?? 2000);

export function serializerBench(): void {
  const resource = resourceFromAttributes({
    'service.name': 'bench',
    'service.instance.id': '5f0c3a4e-0000-4000-8000-000000000000',
    'host.name': 'bench-host',
    'process.pid': 4242,
  });
  const scope = { name: 'pino' };
  const batch: ReadableLogRecord[] = Array.from({ length: BATCH }, (_, i) => ({
    hrTime: [1_764_000_000 + (i >> 4), (i * 1_000_003) % 1e9],
    hrTimeObserved: [1_764_000_000 + (i >> 4), (i * 1_000_033) % 1e9],
    spanContext: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 },
    severityNumber: 9,
    severityText: 'INFO',
    body: 'request handled',
    resource,
    instrumentationScope: scope,
    attributes: { i, user: 'ada', path: '/orders/42' },
    droppedAttributesCount: 0,
  }));
  const variants: Array<[string, (r: ReadableLogRecord[]) => Uint8Array | undefined]> = [
    ['OTel SDK serializer', (r) => ProtobufLogsSerializer.serializeRequest(r)],
    ['Distlog serializer', serializeLogsRequest],
  ];
  const rows = [];
  let base = 0;
  for (const [name, serialize] of variants) {
    for (let i = 0; i < 200; i++) serialize(batch); // warm-up
    const samples: number[] = [];
    let bytes = 0;
    for (let round = 0; round < 5; round++) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < BATCHES / 5; i++) bytes = serialize(batch)!.length;
      samples.push(Number(process.hrtime.bigint() - start) / ((BATCHES / 5) * BATCH));
    }
    const ns = samples.sort((a, b) => a - b)[2];
    base ||= ns;
    rows.push({
      serializer: name,
      'ns/record (median of 5)': ns.toFixed(0),
      'x OTel': (ns / base).toFixed(2),
      'request bytes': bytes,
    });
  }
  console.log(`\nexport request encoding: batches of ${BATCH} records, ${BATCHES} batches each`);
  console.table(rows);
}
