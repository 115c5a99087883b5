import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { ClickHouse } from '@distlog/collector/storage';
import { DEFAULT_CONFIG_FILE } from '@distlog/collector/config';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  testClickHouseUrl,
} from '@distlog/collector/testing';
import type { CollectorProcess } from '../support/collector-process';
import { startCollectorProcess } from '../support/collector-process';
import { otlpJson, postJson } from '../support/otlp-json';
import { temporaryDir } from '../support/temp-dir';

let front: ClickHouse;
let back: ClickHouse;
let target: CollectorProcess;
let source: CollectorProcess;

beforeAll(async () => {
  front = await createTestDatabase('e2e_fwd_front');
  back = await createTestDatabase('e2e_fwd_back');
  // The second collector: the destination.
  target = await startCollectorProcess(testClickHouseUrl(), back.database);
  const dir = temporaryDir('distlog-forward-');
  const file = path.join(dir, 'collector.yaml');
  const config = readFileSync(DEFAULT_CONFIG_FILE, 'utf8')
    .replace(
      'destinations: []',
      `destinations:
  - { name: audit-grpc, endpoint: "http://127.0.0.1:${target.grpcPort}", protocol: grpc }
  - { name: audit-http, endpoint: "http://127.0.0.1:${target.httpPort}", protocol: http/protobuf }`,
    )
    .replace(
      'rules:\n',
      `rules:
  - name: payments-errors-copy
    match: { service: payments, severity: { atLeast: ERROR } }
    forward: audit-grpc
    continue: true
  - name: audit-events-only-there
    match: { eventName: "audit.*" }
    forward: [audit-http]
`,
    );
  writeFileSync(file, config);
  source = await startCollectorProcess(testClickHouseUrl(), front.database, { config: file });
});

afterAll(async () => {
  await source?.stop();
  await target?.stop();
  await dropTestDatabase(front);
  await dropTestDatabase(back);
});

describe('forwarding to another OTLP endpoint (a second collector)', () => {
  it('copies matching records over gRPC and HTTP, keeping the fields, and stores or not as the rules say', async () => {
    const tag = randomUUID().slice(0, 8);
    const traceId = randomUUID().replace(/-/g, '');
    const res = await postJson(
      source.httpPort,
      otlpJson('payments', [
        {
          body: `${tag}-error`,
          severityNumber: 17,
          traceId,
          spanId: 'aaaaaaaaaaaaaaaa',
          attributes: { amount: '12.5' },
        },
        { body: `${tag}-info`, severityNumber: 9 },
        { body: `${tag}-audit`, eventName: 'audit.refund', scope: 'audit' },
      ]),
    );
    expect(res.status).toBe(200);
    const arrived = await eventually(async () => {
      const rows = await back.query<{
        Body: string;
        ServiceName: string;
        SeverityNumber: number;
        TraceId: string;
        ScopeName: string;
        v: string[];
      }>(
        `SELECT Body, ServiceName, SeverityNumber, TraceId, ScopeName, LogAttributes.value AS v
         FROM ${back.database}.all_logs WHERE Body LIKE '${tag}-%' ORDER BY Body`,
      );
      return rows.length === 2 ? rows : undefined;
    });
    expect(arrived).toEqual([
      {
        Body: `${tag}-audit`,
        ServiceName: 'payments',
        SeverityNumber: 9,
        TraceId: '',
        ScopeName: 'audit',
        v: [],
      },
      {
        Body: `${tag}-error`,
        ServiceName: 'payments',
        SeverityNumber: 17,
        TraceId: traceId,
        ScopeName: 'test',
        v: ['12.5'],
      },
    ]);
    // Stored at the source: the error (the copy rule continues to the default) and the info, not the audit event.
    const local = await front.query<{ Body: string }>(
      `SELECT Body FROM ${front.database}.all_logs WHERE Body LIKE '${tag}-%' ORDER BY Body`,
    );
    expect(local.map((r) => r.Body)).toEqual([`${tag}-error`, `${tag}-info`]);
    // The counter moves right after the destination's acknowledgement: wait for it.
    const metrics = await eventually(async () => {
      const text = await (await fetch(`http://127.0.0.1:${source.httpPort}/metrics`)).text();
      return /audit-http",outcome="sent"\} 1$/m.test(text) && /audit-grpc",outcome="sent"\} 1$/m.test(text)
        ? text
        : undefined;
    });
    expect(metrics).toMatch(
      /^distlog_records_forwarded_total\{destination="audit-grpc",outcome="sent"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^distlog_records_forwarded_total\{destination="audit-http",outcome="sent"\} 1$/m,
    );
  });

  it('retries while the destination is down and delivers when it is back', async () => {
    const tag = randomUUID().slice(0, 8);
    const { grpcPort, httpPort, home } = target;
    await target.stop();
    const res = await postJson(
      source.httpPort,
      otlpJson('payments', [{ body: `${tag}-while-down`, severityNumber: 17 }]),
    );
    // Forwarding never delays the client.
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    target = await startCollectorProcess(testClickHouseUrl(), back.database, { grpcPort, httpPort, home });
    const arrived = await eventually(
      async () =>
        (await back.query(`SELECT 1 FROM ${back.database}.all_logs WHERE Body = '${tag}-while-down'`))
          .length === 1,
      20_000,
    );
    expect(arrived).toBe(true);
  });
});
