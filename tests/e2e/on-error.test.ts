import { spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from '@distlog/collector/testing';
import { freePort } from '@distlog/collector/storage';
import { collectorForFile } from '../support/collector-process';

/**
 * Fingers-crossed DEBUG across the three-service example (issue 17): with an `onError`
 * rule every service generates DEBUG but holds it per trace; only the request that fails
 * has its DEBUG stored — from every service that held some (the gateway's pino transport,
 * the orders service's in-process destination), each service's part in order and before
 * the error that released it — and the request that succeeds has none.
 */
const started = collectorForFile('e2e_on_error');
const START = path.resolve(__dirname, '../../sdk/examples/shop/start.js');

it('an onError rule stores DEBUG only for the request that fails, from every service that held some', async () => {
  const setRule = await fetch(`http://127.0.0.1:${started.collector.httpPort}/v1/levels`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ service: '*', logger: '*', level: 'debug', onError: true, setBy: 'test' }),
  });
  expect(setRule.status).toBe(201);
  const ports = {
    GATEWAY_PORT: String(await freePort()),
    ORDERS_PORT: String(await freePort()),
    PAYMENTS_PORT: String(await freePort()),
  };
  const shop = spawn(process.execPath, [START], {
    env: {
      ...process.env,
      ...ports,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${started.collector.grpcPort}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    // Until the gateway's and orders' loggers report that they hold (the rule has reached them).
    await eventually(async () => {
      const json = (await (
        await fetch(`http://127.0.0.1:${started.collector.httpPort}/v1/levels`)
      ).json()) as {
        instances: Array<{ service: string; loggers: Record<string, { onError?: boolean }> }>;
      };
      const holds = (service: string) =>
        json.instances.some((i) => i.service === service && Object.values(i.loggers).some((l) => l.onError));
      return holds('gateway') && holds('orders') ? true : undefined;
    }, 20_000);
    const checkout = async (item: string) =>
      (
        (await (await fetch(`http://127.0.0.1:${ports.GATEWAY_PORT}/checkout?item=${item}`)).json()) as {
          traceId: string;
        }
      ).traceId;
    const ok = await checkout('book');
    const failed = await checkout('unobtainium');
    const okAgain = await checkout('book');

    const where = (traceId: string) => `TraceId = '${traceId}' AND SeverityText IN ('DEBUG', 'ERROR')`;
    type Row = { ServiceName: string; Body: string; SeverityText: string; held: string; t: string };
    const query = (traceId: string) =>
      started.ch.query<Row>(
        `SELECT ServiceName, Body, SeverityText,
                LogAttributes.value[indexOf(LogAttributes.key, 'distlog.held')] AS held,
                toString(TimeUnixNano) AS t
         FROM ${started.ch.database}.all_logs WHERE ${where(traceId)} ORDER BY TimeUnixNano`,
      );
    const rows = await eventually(async () => {
      const found = await query(failed);
      const errors = found.filter((r) => r.Body === 'checkout refused' || r.Body === 'order failed');
      return found.filter((r) => r.SeverityText === 'DEBUG').length >= 2 && errors.length === 2
        ? found
        : undefined;
    }, 15_000);
    const part = (service: string) => rows!.filter((r) => r.ServiceName === service);
    // The gateway: its held DEBUG line (pino through the transport), then the error that released it.
    expect(part('gateway').map((r) => [r.SeverityText, r.Body, r.held])).toEqual([
      ['DEBUG', 'routing checkout to orders', 'true'],
      ['ERROR', 'checkout refused', ''],
    ]);
    // Orders: its db logger's DEBUG (in-process destination), released by the failing scope.
    const orders = part('orders').filter((r) => !r.Body.includes(' failed in '));
    expect(orders.map((r) => [r.SeverityText, r.Body, r.held])).toEqual([
      ['DEBUG', 'reserving', 'true'],
      ['ERROR', 'order failed', ''],
    ]);
    // Nothing of the requests that succeeded: their holds were dropped when their root scopes ended.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await query(ok)).toEqual([]);
    expect(await query(okAgain)).toEqual([]);
  } finally {
    shop.kill('SIGTERM');
    await new Promise((r) => shop.once('exit', r));
  }
  // Processes that followed the rules and then stopped (their last records flushed on the
  // way out) are gone from the list — not "not connected".
  await new Promise((r) => setTimeout(r, 1000));
  const after = (await (await fetch(`http://127.0.0.1:${started.collector.httpPort}/v1/levels`)).json()) as {
    instances: Array<{ service: string; connected: boolean }>;
  };
  expect(after.instances.filter((i) => ['gateway', 'orders', 'payments'].includes(i.service))).toEqual([]);
});
