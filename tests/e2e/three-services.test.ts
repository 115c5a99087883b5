import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ClickHouse } from '@distlog/collector/storage';
import { eventually } from '@distlog/collector/testing';
import { freePort } from '@distlog/collector/storage';
import type { TraceRecord } from '@distlog/query-ui';
import { buildScopeTree, renderScopeTree } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { collectorWithDatabase, stopCollectorAndDatabase } from '../support/collector-process';

const START = path.resolve(__dirname, '../../sdk/examples/shop/start.js');

let ch: ClickHouse;
let collector: CollectorProcess;

beforeAll(async () => {
  ({ ch, collector } = await collectorWithDatabase('e2e_shop'));
});

afterAll(() => stopCollectorAndDatabase(collector, ch));

async function traceRecords(traceId: string): Promise<TraceRecord[]> {
  const rows = await ch.query<{
    t: string;
    s: string;
    sc: string;
    e: string;
    b: string;
    sp: string;
    sev: number;
    k: string[];
    v: string[];
  }>(
    `SELECT TimeUnixNano AS t, ServiceName AS s, ScopeName AS sc, EventName AS e, Body AS b, SpanId AS sp,
            SeverityNumber AS sev, LogAttributes.key AS k, LogAttributes.value AS v
     FROM ${ch.database}.all_logs WHERE TraceId = '${traceId}'`,
  );
  return rows.map((r) => ({
    timeUnixNano: r.t,
    service: r.s,
    scope: r.sc,
    eventName: r.e,
    body: r.b,
    spanId: r.sp,
    severityNumber: r.sev,
    attributes: Object.fromEntries(r.k.map((key, i) => [key, r.v[i]])),
  }));
}

describe('example system: gateway → orders → payments', () => {
  it('one request gives one trace whose scope tree spans the three processes', async () => {
    const env = {
      ...process.env,
      GATEWAY_PORT: String(await freePort()),
      ORDERS_PORT: String(await freePort()),
      PAYMENTS_PORT: String(await freePort()),
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.grpcPort}`,
    };
    const child = spawn(process.execPath, [START, '--request'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const { traceId, orderId, paymentId } = JSON.parse(stdout);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(orderId).toBe(1000);
    expect(paymentId).toBe('pay-1');

    // The services flushed on SIGTERM; the gateway's records come through its pino worker.
    const records = await eventually(async () => {
      const r = await traceRecords(traceId);
      return r.filter((x) => x.eventName === 'distlog.scope.end').length === 7 &&
        r.some((x) => x.body === 'checkout done')
        ? r
        : undefined;
    });
    expect(records).toBeDefined();
    const tree = buildScopeTree(records!);
    expect(renderScopeTree(tree)).toBe(
      [
        'GET /checkout [gateway]',
        '└─ create order [gateway]',
        '   └─ POST /orders [orders]',
        '      ├─ validate order [orders]',
        '      ├─ reserve stock [orders]',
        '      └─ POST /payments [payments]',
        '         └─ charge card [payments]',
      ].join('\n'),
    );
    expect(tree.orphans).toEqual([]);
    const [root] = tree.roots;
    expect(root.records.map((r) => r.body)).toEqual(['checkout requested', 'checkout done']);
    const orders = root.children[0].children[0];
    const reserve = orders.children[1];
    expect(reserve.records.map((r) => [r.scope, r.body, r.attributes.orderId])).toEqual([
      ['db', 'reserving', '1000'],
      ['db', 'stock reserved', '1000'],
    ]);
    const charge = orders.children[2].children[0];
    expect(charge.records.map((r) => [r.scope, r.body])).toEqual([
      ['console', 'charging 12.5 EUR for order 1000'],
      ['console', "charged { paymentId: 'pay-1' }"],
    ]);
    expect(charge.records[0].attributes).toMatchObject({ orderId: '1000', amount: '12.5' });
    expect(new Set(records!.map((r) => r.service))).toEqual(new Set(['gateway', 'orders', 'payments']));
  });
});
