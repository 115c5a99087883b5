import zlib, { deflateSync, gzipSync } from 'node:zlib';
import type { LogRow } from '../../model/log-row';
import { makeRow } from '../../model/log-row';
import { CollectorMetrics } from '../../telemetry/metrics';
import { ERROR_KINDS, UnavailableError } from '../../errors';
import { Authenticator } from '../../auth/authenticator';
import { encodeLogsRequest } from '../../sinks/otlp/encode-request';
import type { PartialSuccess } from './responses';
import { DEFAULT_RECEIVER_LIMITS } from './limits';
import { OtlpHttpReceiver } from './http-receiver';

// The OTLP/HTTP receiver on a real socket, its consumer an in-memory list: every answer a
// client can get, each with the status and body OTLP/HTTP specifies, and the refusal counted.
const KEY = 'an-ingest-key-long-enough-0123456789';
let stored: LogRow[] = [];
let next: 'take' | 'unavailable' | 'reject-one' | 'crash' = 'take';
const consumer = {
  async consume(rows: LogRow[]): Promise<PartialSuccess | undefined> {
    if (next === 'unavailable') throw new UnavailableError('ClickHouse is down', 7);
    if (next === 'crash') throw new TypeError('a bug');
    stored.push(...rows);
    return next === 'reject-one'
      ? { rejectedLogRecords: 1, errorMessage: '1 refused by rule: no' }
      : undefined;
  },
};
const metrics = new CollectorMetrics();
let auth = new Authenticator({ ingestKeys: [], users: [] });
const receiver = new OtlpHttpReceiver(
  {
    host: '127.0.0.1',
    port: 0,
    limits: { ...DEFAULT_RECEIVER_LIMITS, maxRequestBytes: 64 * 1024 },
    auth: () => auth,
  },
  consumer,
  metrics,
);
let url: string;
beforeAll(async () => {
  await receiver.start();
  url = `http://127.0.0.1:${receiver.port}/v1/logs`;
});
afterAll(() => receiver.shutdown());
beforeEach(() => {
  stored = [];
  next = 'take';
  auth = new Authenticator({ ingestKeys: [], users: [] });
});

const body = (n = 2) =>
  encodeLogsRequest(Array.from({ length: n }, (_, i) => makeRow({ body: `hello ${i}` })));
const post = (payload: Buffer | string, headers: Record<string, string> = {}) =>
  fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', ...headers },
    body: payload,
  });

describe('OtlpHttpReceiver', () => {
  it('takes protobuf, gzip and JSON, answering 200 with an empty response', async () => {
    expect((await post(body())).status).toBe(200);
    expect((await post(gzipSync(body()), { 'Content-Encoding': 'gzip' })).status).toBe(200);
    const json = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        resourceLogs: [{ scopeLogs: [{ logRecords: [{ body: { stringValue: 'from json' } }] }] }],
      }),
    });
    expect(json.status).toBe(200);
    expect(await json.json()).toEqual({});
    expect(stored.map((r) => r.body)).toEqual(['hello 0', 'hello 1', 'hello 0', 'hello 1', 'from json']);
  });

  it('takes deflate and x-gzip bodies too, and zstd where Node.js has it (said where it does not)', async () => {
    expect((await post(deflateSync(body()), { 'Content-Encoding': 'deflate' })).status).toBe(200);
    expect((await post(gzipSync(body()), { 'Content-Encoding': 'X-Gzip ' })).status).toBe(200);
    const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer })
      .zstdCompressSync;
    if (typeof zstdCompressSync === 'function') {
      // Node.js 22.15 and later (CI's Node 24 pass).
      expect((await post(zstdCompressSync(body()), { 'Content-Encoding': 'zstd' })).status).toBe(200);
      expect(stored.map((r) => r.body)).toEqual(Array(3).fill(['hello 0', 'hello 1']).flat());
      const bomb = await post(zstdCompressSync(Buffer.alloc(80 * 1024 * 1024)), {
        'Content-Encoding': 'zstd',
      });
      expect(bomb.status).toBe(ERROR_KINDS.too_large.http);
    } else {
      // Node.js 20 (CI's other pass): refused, and the answer says what it would take.
      const refused = await post(body(), { 'Content-Encoding': 'zstd' });
      expect(refused.status).toBe(415);
      expect(Buffer.from(await refused.arrayBuffer()).toString('latin1')).toContain(
        'zstd needs Node.js 22.15 or later on the collector',
      );
      expect(stored.map((r) => r.body)).toEqual(Array(2).fill(['hello 0', 'hello 1']).flat());
    }
  });

  it('answers partial success for records refused by rule', async () => {
    next = 'reject-one';
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [{}, {}] }] }] }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      partialSuccess: { rejectedLogRecords: '1', errorMessage: '1 refused by rule: no' },
    });
  });

  it.each([
    ['bad protobuf', () => post(Buffer.from([0x0a, 0xff])), 'invalid'],
    ['bad gzip', () => post(Buffer.from('not gzip'), { 'Content-Encoding': 'gzip' }), 'invalid'],
    ['bad deflate', () => post(Buffer.from('not deflate'), { 'Content-Encoding': 'deflate' }), 'invalid'],
    [
      'a deflate bomb',
      () => post(deflateSync(Buffer.alloc(80 * 1024 * 1024)), { 'Content-Encoding': 'deflate' }),
      'too_large',
    ],
    ['a body over the limit', () => post(Buffer.alloc(65 * 1024, 1)), 'too_large'],
    [
      'a gzip bomb',
      () => post(gzipSync(Buffer.alloc(80 * 1024 * 1024)), { 'Content-Encoding': 'gzip' }),
      'too_large',
    ],
  ] as const)('refuses %s with the status of its kind', async (_what, send, kind) => {
    const before = metrics.refused.get({ transport: 'http', reason: kind });
    const res = await send();
    expect(res.status).toBe(ERROR_KINDS[kind].http);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    // google.rpc.Status: field 1 (code) first.
    const status = Buffer.from(await res.arrayBuffer());
    expect(status[0]).toBe(0x08);
    expect(status[1]).toBe(ERROR_KINDS[kind].grpc);
    expect(metrics.refused.get({ transport: 'http', reason: kind })).toBe(before + 1);
    expect(stored).toEqual([]);
  });

  it('answers 503 with Retry-After when storage is unavailable, and 500 without detail for a bug', async () => {
    next = 'unavailable';
    const down = await post(body());
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('7');
    next = 'crash';
    const bug = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(bug.status).toBe(500);
    expect(await bug.json()).toEqual({ code: 13, message: 'internal error while storing the request' });
  });

  it('asks for credentials where ingest keys are configured, and reads no body without them', async () => {
    auth = new Authenticator({ ingestKeys: [{ name: 'app', secret: KEY }], users: [] });
    const anonymous = await post(body());
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="distlog"');
    expect((await post(body(), { Authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect(stored).toHaveLength(2);
  });

  it('says what is wrong with the method, the path, the content type and the encoding', async () => {
    const get = await fetch(url);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const metricsExport = await fetch(url.replace('/v1/logs', '/v1/metrics'), { method: 'POST' });
    expect(metricsExport.status).toBe(404);
    expect(await metricsExport.text()).toMatch(/spans to POST \/v1\/traces .*Distlog stores no metrics/);
    const text = await post('x', { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(await text.text()).toMatch(/application\/x-protobuf or application\/json/);
    const brotli = await post(body(), { 'Content-Encoding': 'br' });
    expect(brotli.status).toBe(415);
    expect(metrics.refused.get({ transport: 'http', reason: 'unsupported_media_type' })).toBeGreaterThan(0);
  });

  it('start() and shutdown() are idempotent, and shutdown() is safe without start()', async () => {
    const port = receiver.port;
    await receiver.start();
    expect(receiver.port).toBe(port);
    const unused = new OtlpHttpReceiver(
      { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS },
      consumer,
    );
    await unused.shutdown();
    await unused.shutdown();
  });
});
