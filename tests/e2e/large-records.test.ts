import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import {
  runFixtureOutput,
  collectorWithDatabase,
  startCollectorProcess,
  stopCollectorAndDatabase,
} from '../support/collector-process';
import { testClickHouseUrl } from '@distlog/collector/testing';
import { temporaryDir } from '../support/temp-dir';

/**
 * Apps that log large lines (objects, stack traces): a batch of 1024 such records was one
 * request of ~20 MB, which a collector refuses as too large (HTTP 413 over 16 MiB; gRPC
 * servers elsewhere refuse over 4 MiB), and all 1024 records were lost. The SDK now sends
 * a batch in requests of at most 4 MiB, and where an endpoint takes less, splits what it
 * refuses and sends smaller requests from then on.
 */
let ch: ClickHouse;
let collector: CollectorProcess;
/** The same database behind a collector that takes requests of at most 1 MiB (as another collector or a vendor may). */
let small: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_large'));
  const config = path.join(temporaryDir('distlog-config-'), 'collector.yaml');
  writeFileSync(
    config,
    'receivers:\n  limits:\n    maxRequestBytes: 1048576\n    maxDecompressedBytes: 1048576\n',
  );
  small = await startCollectorProcess(testClickHouseUrl(), ch.database, { config });
}, 60_000);

afterAll(async () => {
  await small?.stop();
  await stopCollectorAndDatabase(collector, ch);
});

/** Records of `service` stored, and how many distinct lines among them. */
async function stored(service: string): Promise<{ rows: number; lines: number }> {
  const [r] = await ch.query<{ rows: string; lines: string }>(
    `SELECT count() AS rows, uniqExact(Body) AS lines FROM ${ch.database}.all_logs WHERE ServiceName = '${service}'`,
  );
  return { rows: Number(r.rows), lines: Number(r.lines) };
}

function app(service: string, endpoint: string, env: Record<string, string> = {}) {
  return runFixtureOutput('large-lines.js', {
    OTEL_SERVICE_NAME: service,
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    FIXTURE_TAG: service,
    DISTLOG_LEVELS: 'off',
    ...env,
  });
}

describe('large records', () => {
  it.each([
    ['destination', 'http/protobuf'],
    ['destination', 'grpc'],
    ['destination', 'http/json'],
    ['transport', 'http/protobuf'],
  ])('1100 lines of 20 KB (pino %s, %s): every one stored, with default settings', async (pino, protocol) => {
    const service = `large-${pino}-${protocol.replace('/', '-')}`;
    const port = protocol === 'grpc' ? collector.grpcPort : collector.httpPort;
    const { lines, stderr } = await app(service, `http://127.0.0.1:${port}`, {
      FIXTURE_PINO: pino,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    });
    if (pino === 'destination')
      expect(lines[0].stats).toMatchObject({ exported: 1100, failed: 0, dropped: 0 });
    expect(
      await eventually(async () => {
        const s = await stored(service);
        return s.rows >= 1100 && s;
      }),
    ).toEqual({ rows: 1100, lines: 1100 });
    expect(stderr).not.toMatch(/cannot send|lost/);
  });

  it.each(['http/protobuf', 'grpc'])(
    'a collector that takes less than the SDK sends (%s): the refused request is split, said once, nothing lost',
    async (protocol) => {
      const service = `large-small-${protocol.replace('/', '-')}`;
      const port = protocol === 'grpc' ? small.grpcPort : small.httpPort;
      // 300 lines of 20 KB: ~6 MB in one batch, requests of up to 4 MiB, the collector's limit 1 MiB.
      const { lines, stderr } = await app(service, `http://127.0.0.1:${port}`, {
        FIXTURE_COUNT: '300',
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      });
      expect(lines[0].stats).toMatchObject({ exported: 300, failed: 0 });
      expect(stderr.match(/refused a request of \d+ bytes as too large/g)).toHaveLength(1);
      expect(
        await eventually(async () => {
          const s = await stored(service);
          return s.rows >= 300 && s;
        }),
      ).toEqual({ rows: 300, lines: 300 });
    },
  );

  it('one record larger than the collector takes: that one is dropped and named, the rest of its batch stored', async () => {
    const service = 'large-one-huge';
    const { lines, stderr } = await app(service, `http://127.0.0.1:${small.httpPort}`, {
      FIXTURE_COUNT: '200',
      FIXTURE_BYTES: '500',
      FIXTURE_HUGE_AT: '77',
      FIXTURE_HUGE_BYTES: String(2 * 1024 * 1024),
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    expect(lines[0].stats).toMatchObject({ exported: 199, failed: 1 });
    expect(stderr).toMatch(/a log record of \d+ bytes is larger than the collector takes .*it was dropped/);
    expect(
      await eventually(async () => {
        const s = await stored(service);
        return s.rows >= 199 && s;
      }),
    ).toEqual({ rows: 199, lines: 199 });
    const [missing] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM ${ch.database}.all_logs WHERE ServiceName = '${service}' AND Body = '${service} line 77'`,
    );
    expect(Number(missing.n)).toBe(0);
  });
});
