import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE } from '@distlog/collector/config';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '@distlog/collector/testing';
import type { ClickHouse } from '@distlog/collector/storage';
import type { CollectorProcess } from '../support/collector-process';
import { runFixtureOutput, startCollectorProcess } from '../support/collector-process';
import { temporaryDir } from '../support/temp-dir';

/**
 * A collector that takes a request but refuses some of its records — a `reject:` rule, or
 * records it cannot read — says so in OTLP's partial_success. The Node SDK used to pass that
 * answer to the OTel exporter, which logs it only at OTEL_LOG_LEVEL=warn: the records were
 * lost without a word, and counted as exported. Now it is said on stderr, once per reason,
 * and the refused records are counted as failed.
 */
let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ch = await createTestDatabase('e2e_refused');
  const file = path.join(temporaryDir('distlog-refused-'), 'collector.yaml');
  writeFileSync(
    file,
    readFileSync(DEFAULT_CONFIG_FILE, 'utf8').replace(
      'rules:\n',
      `rules:
  - name: no-forbidden-lines
    match: { body: { contains: forbidden } }
    reject: "lines saying forbidden are not taken here"
`,
    ),
  );
  collector = await startCollectorProcess(testClickHouseUrl(), ch.database, { config: file });
}, 60_000);

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

it.each(['http/protobuf', 'grpc', 'http/json'])(
  'records a collector refuses in a partial success are said on stderr once and counted as failed (%s)',
  async (protocol) => {
    const service = `refused-${protocol.replace('/', '-')}`;
    const port = protocol === 'grpc' ? collector.grpcPort : collector.httpPort;
    const { lines, stderr } = await runFixtureOutput('refused-lines.js', {
      OTEL_SERVICE_NAME: service,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      FIXTURE_TAG: service,
      DISTLOG_LEVELS: 'off',
    });
    // 30 lines, every third refused.
    expect(lines[0].stats).toMatchObject({ exported: 20, failed: 10, dropped: 0 });
    const said = stderr.match(/distlog: the collector refused \d+ of \d+ log records: [^\n]*/g) ?? [];
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/refused 10 of 30 log records: .*lines saying forbidden are not taken here/);
    const stored = await eventually(async () => {
      const [r] = await ch.query<{ n: string }>(
        `SELECT count() AS n FROM ${ch.database}.all_logs WHERE ServiceName = '${service}'`,
      );
      return Number(r.n) >= 20 && Number(r.n);
    });
    expect(stored).toBe(20);
  },
);
