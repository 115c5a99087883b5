import * as grpc from '@grpc/grpc-js';
import { Authenticator } from '../../auth/authenticator';
import { FailureThrottle } from '../../auth/throttle';
import type { LogRow } from '../../model/log-row';
import { makeRow } from '../../model/log-row';
import { encodeLogsRequest } from '../../sinks/otlp/encode-request';
import { logsServiceDefinition } from '@distlog/proto';
import { OtlpGrpcReceiver, peerAddress } from './grpc-receiver';
import { OtlpHttpReceiver } from './http-receiver';
import { DEFAULT_RECEIVER_LIMITS } from './limits';

// Both receivers on real sockets, one throttle between them, as the collector runs them.
const KEY = 'the-right-ingest-key-0123456789';
const auth = new Authenticator({ ingestKeys: [{ name: 'app', secret: KEY }], users: [] });
const stored: LogRow[] = [];
const consumer = {
  async consume(rows: LogRow[]) {
    stored.push(...rows);
    return undefined;
  },
};
let http: OtlpHttpReceiver;
let grpcReceiver: OtlpGrpcReceiver;
let httpPort: number;
let grpcPort: number;

beforeAll(async () => {
  const throttle = new FailureThrottle({ maxFailures: 3, windowMs: 60_000 });
  const common = { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS, auth: () => auth, throttle };
  http = new OtlpHttpReceiver(common, consumer);
  grpcReceiver = new OtlpGrpcReceiver(common, consumer);
  await http.start();
  await grpcReceiver.start();
  httpPort = http.port;
  grpcPort = grpcReceiver.port;
});

afterAll(async () => {
  await http.shutdown();
  await grpcReceiver.shutdown();
});

const body = (text: string) => encodeLogsRequest([makeRow({ body: text })]);

function postHttp(key: string, text: string) {
  return fetch(`http://127.0.0.1:${httpPort}/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${key}` },
    body: body(text),
  });
}

function exportGrpc(key: string, text: string): Promise<grpc.status> {
  const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
  const client = new Client(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return new Promise<grpc.status>((resolve) =>
    client.makeUnaryRequest(
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
      (b: Buffer) => b,
      (b: Buffer) => b,
      body(text),
      metadata,
      (err: grpc.ServiceError | null) => resolve(err ? err.code : grpc.status.OK),
    ),
  ).finally(() => client.close());
}

describe('wrong ingest keys per client address', () => {
  it('counts wrong keys over both protocols, then refuses the address — right key included — with 429 / RESOURCE_EXHAUSTED', async () => {
    expect((await postHttp(KEY, 'before')).status).toBe(200);
    expect((await postHttp('wrong-key-number-one-xxxxxxx', 'guess 1')).status).toBe(401);
    expect(await exportGrpc('wrong-key-number-two-xxxxxxx', 'guess 2')).toBe(grpc.status.UNAUTHENTICATED);
    expect((await postHttp('wrong-key-number-three-xxxxx', 'guess 3')).status).toBe(401);

    const refused = await postHttp(KEY, 'during');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(await exportGrpc(KEY, 'during grpc')).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(stored.map((r) => r.body)).toEqual(['before']);
  });
});

describe('peerAddress', () => {
  it('takes the address out of grpc-js peer strings', () => {
    expect(peerAddress('ipv4:127.0.0.1:50123')).toBe('127.0.0.1');
    expect(peerAddress('ipv6:[::1]:50123')).toBe('::1');
    expect(peerAddress('ipv6:[2001:db8::7]:443')).toBe('2001:db8::7');
    expect(peerAddress('unix:/tmp/socket')).toBe('unix:/tmp/socket');
  });
});
