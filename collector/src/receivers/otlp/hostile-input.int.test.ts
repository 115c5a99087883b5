import zlib from 'node:zlib';
import fc from 'fast-check';
import * as grpc from '@grpc/grpc-js';
import type { RunningCollector } from '../../collector';
import { startCollector } from '../../collector';
import type { ClickHouse } from '../../storage/clickhouse';
import {
  createTestDatabase,
  dropTestDatabase,
  holdExpiredRows,
  testClickHouseUrl,
} from '../../testing/test-database';
import { stringLiteral } from '../../storage/sql';
import { logsServiceDefinition } from '@distlog/proto';
import { decodeLogsRequestProtobuf } from './decode-protobuf';
import { decodeLogsRequestJson } from './decode-json';
import { DEFAULT_DECODE_LIMITS } from './decode-common';
import { kindOf } from '../../errors';
import { encodeLogsRequest, kv } from '../../testing/otlp-protobufjs';

/**
 * Hostile input against both receivers: each request gets a clear refusal or a bounded
 * acceptance, the collector stays up, and a valid request afterwards succeeds. Plus
 * property tests: the decoders never fail other than with an error of kind invalid on random
 * bytes, and the SQL string escaping round-trips any string through the real server.
 */
let ch: ClickHouse;
let collector: RunningCollector;
const limits = { ...DEFAULT_DECODE_LIMITS, receivedAtUnixNano: 1n };

beforeAll(async () => {
  ch = await createTestDatabase('hostile');
  collector = await startCollector({
    clickhouse: { url: testClickHouseUrl(), database: ch.database },
    grpc: { port: 0 },
    http: { port: 0 },
    batch: { maxDelayMs: 20 },
    spoolDir: false,
    limits: {
      maxRequestBytes: 4 * 1024 * 1024,
      maxDecompressedBytes: 8 * 1024 * 1024,
      maxAttributeValueLength: 1024,
    },
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

const record = (extra: object) =>
  encodeLogsRequest({ resource_logs: [{ scope_logs: [{ log_records: [extra] }] }] });
const valid = () => record({ body: { string_value: 'still serving' } });

function corpus(): Array<[string, Buffer, string?]> {
  const good = valid();
  // Built by hand: protobufjs itself refuses to encode this deep.
  let deep = lengthDelimited(1, Buffer.from('x'));
  for (let i = 0; i < 200; i++) deep = lengthDelimited(5, lengthDelimited(1, deep));
  const deepRequest = lengthDelimited(1, lengthDelimited(2, lengthDelimited(2, lengthDelimited(5, deep))));
  const invalidUtf8 = record({ body: { string_value: 'AAAA' } });
  invalidUtf8.set([0xff, 0xfe, 0xc0, 0x80], invalidUtf8.indexOf('AAAA'));
  return [
    ['empty', Buffer.alloc(0)],
    ['truncated', good.subarray(0, good.length - 5)],
    ['random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))],
    ['wrong wire type', Buffer.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8])],
    ['group wire type', Buffer.from([0x0b, 0x0c])],
    ['length past end', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x00])],
    [
      'varint too long',
      Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ],
    ['deep nesting', deepRequest],
    [
      '200 000 tiny attributes',
      record({ attributes: Array.from({ length: 200_000 }, (_, i) => kv(`k${i}`, { int_value: i })) }),
    ],
    [
      'huge string',
      record({
        body: { string_value: 'x'.repeat(3 * 1024 * 1024) },
        attributes: [kv('big', { string_value: 'y'.repeat(100_000) })],
      }),
    ],
    ['over the size limit', Buffer.alloc(5 * 1024 * 1024, 0x0a)],
    ['invalid UTF-8', invalidUtf8],
    ['time far in the past', record({ time_unix_nano: '1', body: { string_value: 'old' } })],
    [
      'time far in the future',
      record({ time_unix_nano: '18446744073709551615', body: { string_value: 'future' } }),
    ],
    ['trace id of 3 bytes', record({ trace_id: Buffer.from([1, 2, 3]) })],
    ['span id of 9 bytes', record({ span_id: Buffer.alloc(9, 1) })],
    ['severity 99', Buffer.from([0x0a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x10, 99])],
  ];
}

function lengthDelimited(field: number, bytes: Buffer): Buffer {
  const length: number[] = [];
  let v = bytes.length;
  while (v >= 0x80) {
    length.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  length.push(v);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...length]), bytes]);
}

async function postProto(body: Buffer, gzip = false): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) },
    body: gzip ? zlib.gzipSync(body) : body,
  });
  await res.arrayBuffer();
  return res.status;
}

describe('hostile OTLP input', () => {
  it.each(corpus())('HTTP: %s gets a clear answer and the collector keeps serving', async (_name, body) => {
    const status = await postProto(body);
    expect([200, 400, 413]).toContain(status);
    expect(await postProto(valid())).toBe(200);
  });

  it('gRPC: every corpus entry gets OK, INVALID_ARGUMENT or RESOURCE_EXHAUSTED, and a valid request succeeds after', async () => {
    const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
    const client = new Client(`127.0.0.1:${collector.grpcPort}`, grpc.credentials.createInsecure(), {
      'grpc.max_send_message_length': 64 * 1024 * 1024,
    });
    const send = (b: Buffer) =>
      new Promise<number>((resolve) =>
        (
          client as unknown as { Export: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void }
        ).Export(b, (e) => resolve(e ? e.code : grpc.status.OK)),
      );
    try {
      for (const [name, body] of corpus()) {
        const code = await send(body);
        expect({
          name,
          ok: [grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.RESOURCE_EXHAUSTED].includes(code),
        }).toEqual({ name, ok: true });
      }
      expect(await send(valid())).toBe(grpc.status.OK);
    } finally {
      client.close();
    }
  });

  it('memory stays bounded: ten more rounds of the corpus, plain and gzipped, grow the process by < 150 MB', async () => {
    const entries = corpus().map(([, body]) => body);
    const round = async () => {
      for (const body of entries) {
        await postProto(body);
        await postProto(body, true);
      }
    };
    await round(); // warm: buffers, pools and JIT settle
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      for (let i = 0; i < 10; i++) await round();
    } finally {
      clearInterval(sampler);
    }
    const growthMb = (peak - before) / 1024 / 1024;
    console.log(
      `hostile corpus ×10: RSS ${(before / 1048576).toFixed(0)} MB, peak growth ${growthMb.toFixed(0)} MB`,
    );
    expect(growthMb).toBeLessThan(150);
    expect(await postProto(valid())).toBe(200);
  }, 120_000);

  it('stores accepted extreme values within bounds: clamped times, cut attribute values, U+FFFD', async () => {
    const rows = await ch.query<{ Body: string; ts: number; n: string; truncated: number }>(
      `SELECT Body, toUInt32(Timestamp) AS ts, length(LogAttributes.value[indexOf(LogAttributes.key, 'big')]) AS n,
              has(LogAttributes.key, 'distlog.truncated') AS truncated
       FROM ${ch.database}.all_logs WHERE Body IN ('old', 'future') OR length(Body) > 1000000 OR Body LIKE '%\\xEF\\xBF\\xBD%'`,
    );
    const byBody = (b: string) => rows.find((r) => r.Body === b);
    // DateTime is seconds in UInt32: times before 1970-01-01 + 1 s and after 2106 are clamped to its ends.
    expect(byBody('old')?.ts).toBe(0);
    expect(byBody('future')?.ts).toBe(4294967295);
    const huge = rows.find((r) => r.Body.length > 1_000_000)!;
    expect(huge).toMatchObject({ n: '1024', truncated: 1 }); // UInt64 comes back as text
    expect(rows.some((r) => r.Body.includes('\uFFFD'))).toBe(true);
  });

  it('gzip: a bomb is refused while inflating, a bad stream with 400', async () => {
    const bomb = await fetch(`http://127.0.0.1:${collector.httpPort}/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'gzip' },
      body: zlib.gzipSync(Buffer.alloc(200 * 1024 * 1024)),
    });
    expect(bomb.status).toBe(413);
    expect(await postProto(Buffer.from('not gzip at all'), false)).toBe(400);
    expect(await postProto(valid(), true)).toBe(200);
  });
});

describe('properties', () => {
  it('the decoders fail only with errors of kind invalid (400), whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        for (const decode of [
          () => decodeLogsRequestProtobuf(Buffer.from(bytes), limits),
          () => decodeLogsRequestJson(Buffer.from(bytes).toString('utf8'), limits),
        ]) {
          try {
            decode();
          } catch (err) {
            if (kindOf(err) !== 'invalid') throw err;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('stringLiteral round-trips any string through the real server', async () => {
    const samples = fc.sample(fc.string({ unit: 'binary', maxLength: 60 }), 300);
    samples.push("'; DROP TABLE x; --", '\\', "\\'", '\u0000\u0001\n\r\t', '🦀 ünïcode');
    const sql = `SELECT [${samples.map(stringLiteral).join(', ')}] AS v`;
    const [row] = await ch.query<{ v: string[] }>(sql);
    // Lone surrogates cannot be encoded as UTF-8: compare what UTF-8 can carry.
    const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
    expect(row.v).toEqual(samples.map(utf8));
  });
});
