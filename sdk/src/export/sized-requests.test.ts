import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Consumer } from '@distlog/collector';
import type { LogRow } from '@distlog/collector/model';
import { OtlpGrpcReceiver, DEFAULT_RECEIVER_LIMITS } from '@distlog/collector';
import { createExporter } from './exporters';
import { BoundedBatchProcessor } from './bounded-batch-processor';
import { framedRequests, sizedRequests, unframeRequests } from './sized-requests';
import { serializeLogsRequest } from './logs-protobuf';

// Batches of large records against an endpoint that takes less than the batch in one
// request: the collector's own gRPC receiver (a real server) with a lower limit than the
// SDK's, as another collector or a vendor's endpoint has. The OTLP/HTTP cases, and apps
// that log large lines, are in tests/e2e/large-records.test.ts (jest's module sandbox
// cannot load the OTel HTTP transport, which imports node:http dynamically).

const resource = resourceFromAttributes({ 'service.name': 'sized-test' });
const record = (n: number, bytes: number): ReadableLogRecord => ({
  hrTime: [1_700_000_000 + n, 0],
  hrTimeObserved: [1_700_000_000 + n, 0],
  body: `line ${n} ${'x'.repeat(bytes)}`,
  resource,
  instrumentationScope: { name: 'test' },
  attributes: { n },
  droppedAttributesCount: 0,
});
const records = (count: number, bytes: number) => Array.from({ length: count }, (_, n) => record(n, bytes));

/** What a receiver stored: the `n` attribute of each record, in arrival order. */
function counter(): Consumer & { ns: number[] } {
  const ns: number[] = [];
  return {
    ns,
    async consume(rows: LogRow[]) {
      for (const row of rows) ns.push(Number(row.attributes.values[row.attributes.keys.indexOf('n')]));
      return undefined;
    },
  };
}

/** Everything written to stderr while `fn` runs. */
async function stderrOf(fn: () => Promise<void>): Promise<string> {
  const write = process.stderr.write;
  let text = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stderr.write = write;
  }
  return text;
}

/** Sends `batch` through a processor with `exporter`, the way init() wires them, and returns its counts (the exporter stays open). */
async function deliver(exporter: ReturnType<typeof createExporter>, batch: ReadableLogRecord[]) {
  const processor = new BoundedBatchProcessor(exporter, { maxExportBatchSize: batch.length }, {});
  for (const r of batch) processor.enqueue(r);
  await processor.forceFlush();
  return processor.stats();
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
/**
 * Exports go through Distlog's own gRPC client (grpc-transport.ts) unless the connection
 * needs grpc-js (TLS, compression), which DISTLOG_EXPORT_GRPC_CLIENT=grpc-js forces here.
 * The current OTel JS line (DISTLOG_OTEL_LINE=current: Node 22/24 users' packages) loads
 * @grpc/grpc-js with a dynamic import, which jest's module sandbox refuses ("A dynamic
 * import callback was invoked without --experimental-vm-modules"): on that line the
 * grpc-js case is checked by tests/e2e/large-records.test.ts and the TLS tests, whose apps
 * run as plain Node processes.
 */
const clients: Array<[string, string | undefined]> =
  process.env.DISTLOG_OTEL_LINE === 'current'
    ? [['Distlog', undefined]]
    : [
        ['Distlog', undefined],
        ['grpc-js', 'grpc-js'],
      ];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('export requests sized for the endpoint', () => {
  const limits = {
    ...DEFAULT_RECEIVER_LIMITS,
    maxRequestBytes: 256 * 1024,
    maxDecompressedBytes: 256 * 1024,
  };

  it.each(clients)(
    'OTLP/gRPC (%s client): a batch over the endpoint’s limit arrives whole, split after RESOURCE_EXHAUSTED "larger than max", said once',
    async (_name, client) => {
      const stored = counter();
      const receiver = new OtlpGrpcReceiver({ host: '127.0.0.1', port: 0, limits }, stored);
      await receiver.start();
      if (client) process.env.DISTLOG_EXPORT_GRPC_CLIENT = client;
      try {
        const exporter = createExporter('grpc', `http://127.0.0.1:${receiver.port}`);
        delete process.env.DISTLOG_EXPORT_GRPC_CLIENT;
        let stats: Awaited<ReturnType<typeof deliver>> | undefined;
        const said = await stderrOf(async () => {
          // 300 records of ~2 KB: ~600 KB, over the receiver's 256 KiB and under the SDK's 4 MiB.
          stats = await deliver(exporter, records(300, 2000));
          // The next batch is split before it is sent: no second refusal to tell.
          await deliver(exporter, records(300, 2000));
        });
        expect(stats).toMatchObject({ exported: 300, failed: 0 });
        expect(sorted(stored.ns)).toEqual(sorted([...range(300), ...range(300)]));
        expect(said.match(/refused a request of \d+ bytes as too large/g)).toHaveLength(1);
        expect(exporter.maxRequestBytes).toBeLessThanOrEqual(256 * 1024);
        await exporter.shutdown();
      } finally {
        delete process.env.DISTLOG_EXPORT_GRPC_CLIENT;
        await receiver.shutdown();
      }
    },
  );

  it('splits before sending: a batch over the SDK’s limit goes in requests under it, none refused', async () => {
    const stored = counter();
    const requests: number[] = [];
    const receiver = new OtlpGrpcReceiver(
      { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS },
      {
        async consume(rows: LogRow[]) {
          requests.push(rows.length);
          return stored.consume(rows);
        },
      },
    );
    await receiver.start();
    try {
      // ~600 KB in requests of at most 100 KiB: six or more, each of ~30 records at most.
      const exporter = createExporter('grpc', `http://127.0.0.1:${receiver.port}`, 100 * 1024);
      const stats = await deliver(exporter, records(200, 3000));
      expect(stats).toMatchObject({ exported: 200, failed: 0 });
      expect(sorted(stored.ns)).toEqual(range(200));
      expect(requests.length).toBeGreaterThanOrEqual(6);
      expect(Math.max(...requests)).toBeLessThanOrEqual(34);
      expect(exporter.maxRequestBytes).toBe(100 * 1024);
      await exporter.shutdown();
    } finally {
      await receiver.shutdown();
    }
  });

  it('the crash path frames requests of at most the limit', () => {
    const batch = records(100, 3000);
    const requests = sizedRequests(batch, serializeLogsRequest, 64 * 1024);
    expect(requests.length).toBeGreaterThanOrEqual(5);
    for (const r of requests) expect(r.length).toBeLessThanOrEqual(64 * 1024);
    const back = unframeRequests(framedRequests(requests));
    expect(back.map((r) => Buffer.from(r).toString('hex'))).toEqual(
      requests.map((r) => Buffer.from(r).toString('hex')),
    );
    // One record over the limit is a request of its own, not lost.
    expect(sizedRequests([record(1, 200 * 1024)], serializeLogsRequest, 64 * 1024)).toHaveLength(1);
  });
});
