import { randomUUID } from 'node:crypto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { ClickHouse } from '@distlog/collector/storage';
import type { CollectorProcess } from '../support/collector-process';
import { runFixture, collectorWithDatabase, stopCollectorAndDatabase } from '../support/collector-process';

let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_first'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

interface Row {
  ServiceName: string;
  SeverityNumber: number;
  SeverityText: string;
  ScopeName: string;
  Body: string;
  TraceId: string;
  SpanId: string;
  attrs: Array<[string, string]>;
  resource: Array<[string, string]>;
}

function rowsWithBody(body: string): Promise<Row[]> {
  return ch.query<Row>(
    `SELECT ServiceName, SeverityNumber, SeverityText, ScopeName, Body, TraceId, SpanId,
            arrayMap((k, v) -> (k, v), LogAttributes.key, LogAttributes.value) AS attrs,
            arrayMap((k, v) -> (k, v), ResourceAttributes.key, ResourceAttributes.value) AS resource
     FROM ${ch.database}.all_logs WHERE Body = '${body}'`,
  );
}

describe('the first log record end to end', () => {
  it('carries a pino record from an app process through the collector process into ClickHouse', async () => {
    const body = `pino-e2e-${randomUUID()}`;
    const [ids] = await runFixture('pino-app.js', {
      FIXTURE_BODY: body,
      OTEL_SERVICE_NAME: 'checkout',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
    });
    expect(ids.keptAppProvider).toBe(true);
    // shutdown() in the app flushed, and the collector answered only after the insert.
    const rows = await rowsWithBody(body);
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row).toMatchObject({
      ServiceName: 'checkout',
      SeverityNumber: SeverityNumber.WARN,
      SeverityText: 'WARN',
      ScopeName: 'fixture-app',
      TraceId: ids.traceId,
      SpanId: ids.spanId,
    });
    expect(row.TraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(Object.fromEntries(row.attrs)).toEqual({ order: '{"id":7,"total":12.5}', user: 'ada' });
    // A child's line of flat values (built, not parsed, by the destination): the same trace, its bindings.
    const [flat] = await rowsWithBody(`${body}-flat`);
    expect(flat).toMatchObject({
      SeverityText: 'INFO',
      ScopeName: 'payments',
      TraceId: ids.traceId,
      SpanId: ids.spanId,
    });
    expect(Object.fromEntries(flat.attrs)).toEqual({ region: 'eu', user: 'ada', amount: '12.5', ok: 'true' });
    const resource = Object.fromEntries(row.resource);
    expect(resource['service.name']).toBe('checkout');
    expect(resource['host.name']).toBeTruthy();
    expect(resource['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each(['http/json', 'http/protobuf'])(
    'stores records sent by the official OTel %s exporter',
    async (protocol) => {
      const body = `${protocol}-${randomUUID()}`;
      await runFixture('official-exporter.js', {
        FIXTURE_PROTOCOL: protocol,
        FIXTURE_URL: `http://127.0.0.1:${collector.httpPort}/v1/logs`,
        FIXTURE_BODY: body,
      });
      const rows = await rowsWithBody(body);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        ServiceName: `exporter-${protocol}`,
        SeverityNumber: SeverityNumber.ERROR,
        ScopeName: 'official-exporter',
      });
      expect(Object.fromEntries(rows[0].attrs)).toEqual({ 'http.status_code': '503', retry: 'true' });
    },
  );
});
