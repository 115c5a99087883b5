import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import type { RunningCollector } from './collector';
import type { CollectorStatus } from './control/status';
import { startCollector } from './collector';
import type { ClickHouse } from './storage/clickhouse';
import {
  createTestDatabase,
  dropTestDatabase,
  eventually,
  holdExpiredRows,
  testClickHouseUrl,
} from './testing/test-database';
import { logsServiceDefinition } from '@distlog/proto';
import { decodeLogsResponse, encodeLogsRequest, kv } from './testing/otlp-protobufjs';

let ch: ClickHouse;
let collector: RunningCollector;

beforeAll(async () => {
  ch = await createTestDatabase('collector');
  collector = await startCollector({
    clickhouse: { url: testClickHouseUrl(), database: ch.database },
    grpc: { port: 0 },
    http: { port: 0 },
    batch: { maxDelayMs: 20 },
    spoolDir: false,
  });
  // Partitions past retention are dropped once at start: not the records these tests send,
  // which carry fixed or clamped dates past the tiers' retention (and TTL, where the server has it).
  await collector.retention();
  await holdExpiredRows(ch);
});

afterAll(async () => {
  await collector?.stop();
  await dropTestDatabase(ch);
});

function exportRequest(service: string, body: string, extra: object = {}): object {
  return {
    resource_logs: [
      {
        resource: { attributes: [kv('service.name', { string_value: service })] },
        scope_logs: [
          {
            scope: { name: 'test-scope' },
            log_records: [
              {
                time_unix_nano: '1700000000123456789',
                severity_number: 13,
                severity_text: 'WARN',
                body: { string_value: body },
                attributes: [kv('user.id', { int_value: 42 })],
                ...extra,
              },
            ],
          },
        ],
      },
    ],
  };
}

async function rowsWithBody(body: string) {
  return ch.query<Record<string, unknown>>(
    `SELECT Timestamp, TimeUnixNano, ServiceName, SeverityNumber, SeverityText, ScopeName, Body,
            LogAttributes.key AS keys, LogAttributes.value AS values, TraceId, SpanId
     FROM ${ch.database}.all_logs WHERE Body = '${body}'`,
  );
}

async function post(path: string, body: Buffer | string, headers: Record<string, string>) {
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}${path}`, { method: 'POST', body, headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

describe('collector receivers into ClickHouse', () => {
  it('stores an OTLP/HTTP protobuf request before answering, with every field', async () => {
    const res = await post('/v1/logs', encodeLogsRequest(exportRequest('svc-http', 'http-proto-body')), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeLogsResponse(res.body)).toEqual({});
    // No polling: the response is sent only after the insert.
    expect(await rowsWithBody('http-proto-body')).toEqual([
      {
        // The exact time in the sort key where the server has DateTime64 (see storage/schema.ts).
        Timestamp: ch.features.dateTime64 ? '2023-11-14 22:13:20.123456789' : '2023-11-14 22:13:20',
        TimeUnixNano: '1700000000123456789',
        ServiceName: 'svc-http',
        SeverityNumber: 13,
        SeverityText: 'WARN',
        ScopeName: 'test-scope',
        Body: 'http-proto-body',
        keys: ['user.id'],
        values: ['42'],
        TraceId: '',
        SpanId: '',
      },
    ]);
  });

  it("on servers with Map and DateTime64, shows every tier as otel_logs, the OTel ClickHouse exporter's layout", async () => {
    const [exists] = await ch.query<{ n: string }>(
      `SELECT count() AS n FROM system.tables WHERE database = '${ch.database}' AND name = 'otel_logs'`,
    );
    if (!(ch.features.mapType && ch.features.dateTime64)) {
      // 18.16 has neither type: no view, and nothing else changes.
      expect(exists.n).toBe('0');
      return;
    }
    const columns = await ch.query<{ name: string; type: string }>(`DESCRIBE TABLE ${ch.database}.otel_logs`);
    expect(Object.fromEntries(columns.map((c) => [c.name, c.type]))).toMatchObject({
      Timestamp: "DateTime64(9, 'UTC')",
      TimestampTime: 'DateTime',
      TraceId: 'String',
      SpanId: 'String',
      TraceFlags: 'UInt8',
      SeverityText: 'String',
      SeverityNumber: 'UInt8',
      ServiceName: 'String',
      Body: 'String',
      ResourceAttributes: 'Map(LowCardinality(String), String)',
      ScopeName: 'String',
      ScopeAttributes: 'Map(LowCardinality(String), String)',
      LogAttributes: 'Map(LowCardinality(String), String)',
    });
    // The shape of the query Grafana's ClickHouse data source sends in logs mode, on this record.
    const rows = await ch.query<Record<string, unknown>>(
      `SELECT Timestamp AS timestamp, Body AS body, SeverityText AS level, LogAttributes AS labels, TraceId AS traceID
       FROM "${ch.database}"."otel_logs"
       WHERE ( timestamp >= toDateTime64(1700000000, 9) AND timestamp <= toDateTime64(1700000001, 9) )
         AND ( ServiceName = 'svc-http' ) AND ( LogAttributes['user.id'] = '42' )
       ORDER BY timestamp DESC LIMIT 1000`,
    );
    expect(rows).toEqual([
      {
        timestamp: '2023-11-14 22:13:20.123456789',
        body: 'http-proto-body',
        level: 'WARN',
        labels: { 'user.id': '42' },
        traceID: '',
      },
    ]);
  });

  it('on servers with Map and DateTime64, answers the shape of the search ClickStack/HyperDX sends to otel_logs', async () => {
    if (!(ch.features.mapType && ch.features.dateTime64)) return; // no otel_logs on 18.16 (previous test)
    // HyperDX's search: the time range on TimestampTime from milliseconds, its own sort
    // expression, LIMIT with casts (the shape of the query in its public issue tracker).
    const rows = await ch.query<Record<string, unknown>>(
      `SELECT Timestamp, ServiceName, SeverityText, Body, LogAttributes['user.id'] AS user
       FROM ${ch.database}.otel_logs
       WHERE (TimestampTime >= fromUnixTimestamp64Milli(_CAST(1699999999000, 'Int64')))
         AND (TimestampTime <= fromUnixTimestamp64Milli(_CAST(1700000001000, 'Int64')))
         AND (Body ILIKE '%proto-BODY%') AND (ResourceAttributes['service.name'] = 'svc-http')
       ORDER BY (toStartOfFiveMinutes(Timestamp), Timestamp, TimestampTime) DESC
       LIMIT _CAST(0, 'Int32'), _CAST(200, 'Int32')`,
    );
    expect(rows).toEqual([
      {
        Timestamp: '2023-11-14 22:13:20.123456789',
        ServiceName: 'svc-http',
        SeverityText: 'WARN',
        Body: 'http-proto-body',
        user: '42',
      },
    ]);
  });

  it('stores a request whose records span 150 days (current servers refuse inserts over 100 partitions by default)', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const logRecords = Array.from({ length: 150 }, (_, d) => ({
      timeUnixNano: String(now - BigInt(d) * 86_400_000_000_000n),
      severityNumber: 9,
      body: { stringValue: 'back-dated 150 days' },
    }));
    const res = await post(
      '/v1/logs',
      JSON.stringify({ resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords }] }] }),
      { 'Content-Type': 'application/json' },
    );
    expect(res.status).toBe(200);
    const [r] = await ch.query<{ n: string; days: string }>(
      `SELECT count() AS n, uniqExact(toDate(Timestamp)) AS days FROM ${ch.database}.all_logs WHERE Body = 'back-dated 150 days'`,
    );
    expect(r).toEqual({ n: '150', days: '150' });
  });

  it('stores OTLP/HTTP JSON, and gzip-compressed bodies of both kinds', async () => {
    const json = JSON.stringify({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc-json' } }] },
          scopeLogs: [{ logRecords: [{ severityNumber: 9, body: { stringValue: 'http-json-body' } }] }],
        },
      ],
    });
    const plain = await post('/v1/logs', json, { 'Content-Type': 'application/json' });
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body.toString())).toEqual({});
    const gzJson = await post('/v1/logs', zlib.gzipSync(json.replace('http-json-body', 'gzip-json-body')), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    expect(gzJson.status).toBe(200);
    const gzProto = await post(
      '/v1/logs',
      zlib.gzipSync(encodeLogsRequest(exportRequest('svc-gz', 'gzip-proto-body'))),
      {
        'Content-Type': 'application/x-protobuf',
        'Content-Encoding': 'gzip',
      },
    );
    expect(gzProto.status).toBe(200);
    expect((await rowsWithBody('http-json-body'))[0]).toMatchObject({
      ServiceName: 'svc-json',
      SeverityNumber: 9,
    });
    expect(await rowsWithBody('gzip-json-body')).toHaveLength(1);
    expect(await rowsWithBody('gzip-proto-body')).toHaveLength(1);
  });

  it('stores an OTLP/gRPC Export', async () => {
    const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
    const client = new Client(`127.0.0.1:${collector.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const bytes = encodeLogsRequest(
        exportRequest('svc-grpc', 'grpc-body', {
          trace_id: Buffer.alloc(16, 0xab),
          span_id: Buffer.alloc(8, 0xcd),
        }),
      );
      const response = await new Promise<Buffer>((resolve, reject) =>
        (
          client as unknown as { Export: (b: Buffer, cb: (e: Error | null, r: Buffer) => void) => void }
        ).Export(bytes, (err, res) => (err ? reject(err) : resolve(res))),
      );
      expect(decodeLogsResponse(response)).toEqual({});
      expect((await rowsWithBody('grpc-body'))[0]).toMatchObject({
        ServiceName: 'svc-grpc',
        TraceId: 'ab'.repeat(16),
        SpanId: 'cd'.repeat(8),
      });
    } finally {
      client.close();
    }
  });

  it('refuses malformed bodies with 400 / INVALID_ARGUMENT naming the problem, and keeps serving', async () => {
    const badProto = await post('/v1/logs', Buffer.from([0x0a, 0x7f, 0x01]), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(badProto.status).toBe(400);
    // google.rpc.Status: code 3, message naming the field
    expect(badProto.body[0]).toBe(0x08);
    expect(badProto.body[1]).toBe(3);
    expect(badProto.body.toString('utf8')).toContain('resource_logs[0]: length 127 runs past the end');

    const badJson = await post('/v1/logs', '{"resourceLogs": [', { 'Content-Type': 'application/json' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body.toString())).toMatchObject({
      code: 3,
      message: expect.stringMatching(/^body is not valid JSON/),
    });

    // One bad record among good ones: the others are stored, the client learns of the one refused.
    const wrongType = await post(
      '/v1/logs',
      '{"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": 99}, {"body": {"stringValue": "partial-ok"}}]}]}]}',
      { 'Content-Type': 'application/json' },
    );
    expect(wrongType.status).toBe(200);
    expect(JSON.parse(wrongType.body.toString())).toEqual({
      partialSuccess: {
        rejectedLogRecords: '1',
        errorMessage:
          '1 invalid: resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: expected a SeverityNumber (0-24 or its name), got number 99',
      },
    });
    expect(await rowsWithBody('partial-ok')).toHaveLength(1);
    const partialProto = await post(
      '/v1/logs',
      encodeLogsRequest({
        resource_logs: [
          {
            scope_logs: [
              { log_records: [{ body: { string_value: 'partial-proto-ok' } }, { span_id: Buffer.alloc(3) }] },
            ],
          },
        ],
      }),
      { 'Content-Type': 'application/x-protobuf' },
    );
    expect(decodeLogsResponse(partialProto.body)).toEqual({
      partial_success: {
        rejected_log_records: '1',
        error_message:
          '1 invalid: resource_logs[0].scope_logs[0].log_records[1].span_id: must be 8 bytes, got 3',
      },
    });

    const badGzip = await post('/v1/logs', Buffer.from('not gzip'), {
      'Content-Type': 'application/json',
      'Content-Encoding': 'gzip',
    });
    expect(badGzip.status).toBe(400);
    expect(JSON.parse(badGzip.body.toString()).message).toMatch(/^body is not valid gzip/);

    const unsupported = await post('/v1/logs', 'x', { 'Content-Type': 'text/plain' });
    expect(unsupported.status).toBe(415);
    expect(unsupported.body.toString()).toContain('unsupported Content-Type "text/plain"');

    const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
    const client = new Client(`127.0.0.1:${collector.grpcPort}`, grpc.credentials.createInsecure());
    const grpcError = await new Promise<grpc.ServiceError>((resolve) =>
      (client as unknown as { Export: (b: Buffer, cb: (e: grpc.ServiceError) => void) => void }).Export(
        Buffer.from([0x0a, 0x05, 0x12]),
        resolve,
      ),
    );
    client.close();
    expect(grpcError.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(grpcError.details).toBe('resource_logs[0]: length 5 runs past the end of its message');

    // Still serving.
    const after = await post('/v1/logs', encodeLogsRequest(exportRequest('svc-after', 'after-bad-input')), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(after.status).toBe(200);
    expect(await rowsWithBody('after-bad-input')).toHaveLength(1);
  });

  it('answers empty requests with success and keeps invalid UTF-8 visible as U+FFFD', async () => {
    const emptyProto = await post('/v1/logs', Buffer.alloc(0), { 'Content-Type': 'application/x-protobuf' });
    expect(emptyProto.status).toBe(200);
    expect(decodeLogsResponse(emptyProto.body)).toEqual({});
    const emptyJson = await post('/v1/logs', '{}', { 'Content-Type': 'application/json' });
    expect(emptyJson.status).toBe(200);
    expect(JSON.parse(emptyJson.body.toString())).toEqual({});
    // A body string with the invalid byte 0xFF in the middle: the record is kept.
    const request = encodeLogsRequest(exportRequest('svc-utf8', 'utf8-XbadX'));
    const at = request.indexOf(Buffer.from('utf8-XbadX')) + 6;
    request[at] = 0xff;
    const res = await post('/v1/logs', request, { 'Content-Type': 'application/x-protobuf' });
    expect(res.status).toBe(200);
    const [stored] = await ch.query<{ Body: string }>(
      `SELECT Body FROM ${ch.database}.all_logs WHERE ServiceName = 'svc-utf8'`,
    );
    expect(stored.Body).toBe('utf8-X\uFFFDadX');
  });

  it('refuses a gzip bomb without inflating it past the limit', async () => {
    const small = await startCollector({
      clickhouse: { url: testClickHouseUrl(), database: ch.database },
      grpc: { port: 0 },
      http: { port: 0 },
      applySchema: false,
      spoolDir: false,
      limits: { maxDecompressedBytes: 1024 * 1024 },
    });
    try {
      const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));
      const res = await fetch(`http://127.0.0.1:${small.httpPort}/v1/logs`, {
        method: 'POST',
        body: bomb,
        headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
      });
      expect(res.status).toBe(413);
      expect(Buffer.from(await res.arrayBuffer()).toString()).toContain(
        'decompressed body exceeds the limit of 1048576 bytes',
      );
    } finally {
      await small.stop();
    }
  });
});

describe('a request sent again is stored once (exactly once, request ids)', () => {
  const grpcExport = async (port: number, bytes: Buffer) => {
    const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      return await new Promise<Buffer>((resolve, reject) =>
        (
          client as unknown as { Export: (b: Buffer, cb: (e: Error | null, r: Buffer) => void) => void }
        ).Export(bytes, (err, res) => (err ? reject(err) : resolve(res))),
      );
    } finally {
      client.close();
    }
  };

  it('whichever collector and transport the retry reaches', async () => {
    // A second collector on the same database stands for another host behind the load balancer
    // (or this one restarted): it learns what was stored from ClickHouse, not from memory.
    const other = await startCollector({
      clickhouse: { url: testClickHouseUrl(), database: ch.database },
      grpc: { port: 0 },
      http: { port: 0 },
      batch: { maxDelayMs: 20 },
      applySchema: false,
      spoolDir: false,
    });
    try {
      const bytes = encodeLogsRequest(exportRequest('svc-once', 'sent-again'));
      const headers = { 'Content-Type': 'application/x-protobuf' };
      expect((await post('/v1/logs', bytes, headers)).status).toBe(200);
      // The same bytes again: over HTTP to this collector, over HTTP and gRPC to the other.
      expect((await post('/v1/logs', bytes, headers)).status).toBe(200);
      const again = await fetch(`http://127.0.0.1:${other.httpPort}/v1/logs`, {
        method: 'POST',
        body: bytes,
        headers,
      });
      expect(again.status).toBe(200);
      expect(decodeLogsResponse(await grpcExport(other.grpcPort, bytes))).toEqual({});
      expect(await rowsWithBody('sent-again')).toHaveLength(1);
      const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(await metrics(collector.httpPort)).toMatch(
        /distlog_requests_already_stored_total\{table="logs"\} 1\b/,
      );
      expect(await metrics(other.httpPort)).toMatch(
        /distlog_requests_already_stored_total\{table="logs"\} 2\b/,
      );
      // A different request (one byte of difference) is stored, of course.
      expect(
        (await post('/v1/logs', encodeLogsRequest(exportRequest('svc-once', 'sent-agaim')), headers)).status,
      ).toBe(200);
      expect(await rowsWithBody('sent-agaim')).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('a retry that comes while the first copy is still being inserted (its collector died) waits for it: stored once', async () => {
    const bytes = encodeLogsRequest(exportRequest('svc-once', 'retried-mid-insert'));
    // The request's id, as the collector computes it (receivers/otlp/request-id.ts).
    const id = createHash('sha1').update(bytes).digest().readBigUInt64LE(0);
    const hex = id.toString(16).padStart(16, '0');
    // The first copy as a collector SIGKILLed mid-insert leaves it: ClickHouse still running
    // an insert that names the request (here one that takes 2 s).
    const firstCopy = ch.command(
      `INSERT INTO ${ch.database}.logs (Timestamp, ServiceName, Body, RequestId) /* distlog-requests:,${hex}, */ ` +
        `SELECT toDateTime(1700000000), 'svc-once', 'first copy of retried-mid-insert', toUInt64('${id}') ` +
        `FROM numbers(1) WHERE sleepEachRow(2) = 0`,
    );
    // (The embedded store runs one statement at a time: there the retry's check simply comes after it.)
    if (!ch.serialStatements)
      await eventually(async () => {
        const [running] = await ch.query<{ n: string }>(
          `SELECT count() AS n FROM system.processes WHERE startsWith(query, 'INSERT') AND position(query, '${hex}') > 0`,
        );
        return Number(running.n) > 0;
      });
    const retry = await post('/v1/logs', bytes, { 'Content-Type': 'application/x-protobuf' });
    await firstCopy;
    expect(retry.status).toBe(200);
    expect(await rowsWithBody('first copy of retried-mid-insert')).toHaveLength(1);
    expect(await rowsWithBody('retried-mid-insert')).toHaveLength(0);
  });

  it('records without any time are dated on arrival: the same request twice is two sets of records', async () => {
    const undated = encodeLogsRequest(exportRequest('svc-once', 'undated-twice', { time_unix_nano: '0' }));
    const headers = { 'Content-Type': 'application/x-protobuf' };
    expect((await post('/v1/logs', undated, headers)).status).toBe(200);
    expect((await post('/v1/logs', undated, headers)).status).toBe(200);
    expect(await rowsWithBody('undated-twice')).toHaveLength(2);
  });
});

describe('start-up errors', () => {
  it('names the ClickHouse URL in one line when it is unreachable', async () => {
    await expect(
      startCollector({
        clickhouse: { url: 'http://127.0.0.1:1', database: 'x' },
        grpc: { port: 0 },
        http: { port: 0 },
      }),
    ).rejects.toThrow(/^ClickHouse at http:\/\/127\.0\.0\.1:1 is unreachable: /);
  });
});

describe('a tier table dropped while the collector runs', () => {
  it('is made again from the schema, and what was sent meanwhile is stored', async () => {
    const db = await createTestDatabase('collector_dropped');
    const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'distlog-dropped-'));
    const running = await startCollector({
      clickhouse: { url: testClickHouseUrl(), database: db.database },
      grpc: { port: 0 },
      http: { port: 0 },
      batch: { maxDelayMs: 20 },
      spoolDir,
    });
    try {
      // Someone empties the tier the quick way.
      await db.command(`DROP TABLE ${db.database}.logs`);
      const res = await fetch(`http://127.0.0.1:${running.httpPort}/v1/logs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'dropper' } }] },
              scopeLogs: [{ logRecords: [{ severityNumber: 9, body: { stringValue: 'after the drop' } }] }],
            },
          ],
        }),
      });
      // Acknowledged (spooled), then stored once the table is back.
      expect(res.status).toBe(200);
      const stored = await eventually(async () => {
        const [row] = await db
          .query<{ n: string }>(`SELECT count() AS n FROM ${db.database}.logs WHERE Body = 'after the drop'`)
          .catch(() => [{ n: '0' }]);
        return row.n === '1';
      }, 20_000);
      expect(stored).toBe(true);
    } finally {
      await running.stop();
      await dropTestDatabase(db);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});

describe('a column changed by hand while the collector runs', () => {
  it('sets the refused batches aside without holding up the spool, and stores them after the fix and a reload', async () => {
    const db = await createTestDatabase('collector_refused');
    const spoolDir = mkdtempSync(path.join(os.tmpdir(), 'distlog-refused-'));
    const running = await startCollector({
      clickhouse: { url: testClickHouseUrl(), database: db.database },
      grpc: { port: 0 },
      http: { port: 0 },
      batch: { maxDelayMs: 20, retry: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 } },
      spoolDir,
    });
    const [{ type }] = await db.query<{ type: string }>(
      `SELECT type FROM system.columns WHERE database = '${db.database}' AND table = 'logs' AND name = 'ScopeVersion'`,
    );
    const send = (body: string) =>
      fetch(`http://127.0.0.1:${running.httpPort}/v1/logs`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          resourceLogs: [
            {
              resource: { attributes: [{ key: 'service.name', value: { stringValue: 'altered' } }] },
              scopeLogs: [{ logRecords: [{ severityNumber: 9, body: { stringValue: body } }] }],
            },
          ],
        }),
      });
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${running.httpPort}/metrics`)).text();
      return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    };
    const count = async (body: string) =>
      Number(
        (
          await db.query<{ n: string }>(`SELECT count() AS n FROM ${db.database}.logs WHERE Body = '${body}'`)
        )[0].n,
      );
    try {
      await db.command(`ALTER TABLE ${db.database}.logs DROP COLUMN ScopeVersion`);
      // Acknowledged (spooled), refused by ClickHouse on replay, set aside: the spool drains.
      expect((await send('while altered')).status).toBe(200);
      await eventually(async () => (await metric('distlog_spool_set_aside_batches')) === 1, 20_000);
      expect(await metric('distlog_spool_batches')).toBe(0);
      expect(await metric('distlog_batches_set_aside_total')).toBe(1);
      // As `distlog status` shows it (the collector's /v1/status).
      const status = (await (
        await fetch(`http://127.0.0.1:${running.httpPort}/v1/status`)
      ).json()) as CollectorStatus;
      expect(status).toMatchObject({ ready: true, spool: { batches: 0, setAsideBatches: 1 } });
      // The cause, too: the table lacks a column the collector writes.
      expect(status.tables).toContainEqual({
        tier: 'logs',
        table: 'logs',
        exists: true,
        missingColumns: ['ScopeVersion'],
      });
      expect(await count('while altered')).toBe(0);

      // Fixed by hand; a reload (what SIGHUP does) tries the set-aside batch again.
      await db.command(`ALTER TABLE ${db.database}.logs ADD COLUMN ScopeVersion ${type} AFTER ScopeName`);
      await running.reload(running.config);
      await eventually(async () => (await count('while altered')) === 1, 20_000);
      expect(await metric('distlog_spool_set_aside_batches')).toBe(0);
      // And records sent now go straight in.
      expect((await send('after the fix')).status).toBe(200);
      await eventually(async () => (await count('after the fix')) === 1, 20_000);
    } finally {
      await running.stop();
      await dropTestDatabase(db);
      rmSync(spoolDir, { recursive: true, force: true });
    }
  });
});
