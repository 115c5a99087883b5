// What following requests costs (http.ts, grpc.ts: each request or gRPC call a scope
// continuing the caller's traceparent): one server process with the capture on and one with
// it off (DISTLOG_CAPTURE_HTTP=0 / DISTLOG_CAPTURE_GRPC=0), each logging one pino line per
// request through Distlog's transport to the bench's counting OTLP endpoint; the bench
// process is the client (HTTP keep-alive or one gRPC channel, 16 requests in flight, a
// traceparent on each). Alternating rounds; medians of the server's CPU per request (all its
// threads) and of requests per second. Run by run.ts.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type * as Grpc from '@grpc/grpc-js';
import { BENCH_ORDERS_SERVICE } from './http-server-definition';

/** What the server answers: HTTP requests (node:http) or unary gRPC calls (@grpc/grpc-js). */
export type Served = 'http' | 'grpc';
const CAPTURE_SWITCH = { http: 'DISTLOG_CAPTURE_HTTP', grpc: 'DISTLOG_CAPTURE_GRPC' } as const;
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 20_000);
const WARM_UP = 2000;
const IN_FLIGHT = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Round {
  cpuUsPerRequest: number;
  requestsPerSecond: number;
  dropped: number;
}

export async function httpBench(endpoint: string, protocol: string, served: Served = 'http'): Promise<void> {
  const results = { off: [] as Round[], on: [] as Round[] };
  for (let round = 0; round < ROUNDS; round++)
    for (const capture of ['off', 'on'] as const)
      results[capture].push(await runServer(served, capture, endpoint, protocol));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (label: string, rs: Round[]) => ({
    server: label,
    'CPU µs/request': median(rs.map((r) => r.cpuUsPerRequest)).toFixed(1),
    'requests/s': median(rs.map((r) => r.requestsPerSecond)).toFixed(0),
    'records dropped': rs.reduce((n, r) => n + r.dropped, 0),
  });
  const what = served === 'http' ? 'HTTP requests' : 'unary gRPC calls';
  console.log(
    `\n${what} followed (${served === 'http' ? 'HTTP' : 'gRPC'} capture): ${REQUESTS} requests, ${IN_FLIGHT} in flight, one pino line each (${ROUNDS} rounds, medians)`,
  );
  const off = row(`capture off (${CAPTURE_SWITCH[served]}=0)`, results.off);
  const on = row('capture on (default): a scope per request, 2 more records', results.on);
  console.table([off, on]);
  console.log(
    `a followed request costs ${(Number(on['CPU µs/request']) - Number(off['CPU µs/request'])).toFixed(1)} µs of CPU more ` +
      `(${(Number(on['CPU µs/request']) / Number(off['CPU µs/request'])).toFixed(2)}×)`,
  );
}

async function runServer(
  served: Served,
  capture: 'on' | 'off',
  endpoint: string,
  protocol: string,
): Promise<Round> {
  // BENCH_NODE_ARGS (as for the variants): Node options for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(__dirname, 'http-server.js')], {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DISTLOG_SERVICE_'))),
      DISTLOG_LEVELS: 'off',
      BENCH_SERVED: served,
      [CAPTURE_SWITCH[served]]: capture === 'on' ? '1' : '0',
      BENCH_WARM_UP: String(WARM_UP),
      OTEL_SERVICE_NAME: `${served}-bench-${capture}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const match = /port (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`the bench's HTTP server exited with ${code}`)));
  });
  const client = served === 'http' ? httpClient(port) : grpcClient(port);
  const one = client.one;
  const send = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < n) await one();
      }),
    );
  };
  await send(WARM_UP);
  const started = performance.now();
  await send(REQUESTS);
  const seconds = (performance.now() - started) / 1000;
  client.close();
  const report = new Promise<string>((resolve) =>
    child.once('exit', () => resolve(out.split('\n').find((l) => l.startsWith('{')) ?? '')),
  );
  child.kill('SIGINT');
  const line = await report;
  if (!line) throw new Error('the bench HTTP server printed no result');
  const { cpuUsPerRequest, dropped } = JSON.parse(line) as { cpuUsPerRequest: number; dropped: number };
  return { cpuUsPerRequest, requestsPerSecond: REQUESTS / seconds, dropped };
}

interface BenchClient {
  one(): Promise<void>;
  close(): void;
}

function httpClient(port: number): BenchClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const headers = { traceparent: TRACEPARENT };
  return {
    one: () =>
      new Promise<void>((resolve, reject) =>
        http
          .get({ host: '127.0.0.1', port, path: '/orders/1042', agent, headers }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject),
      ),
    close: () => agent.destroy(),
  };
}

/** One channel (grpc-js multiplexes the calls in flight on it), a generated client. */
function grpcClient(port: number): BenchClient {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only the gRPC part of the bench needs it
  const grpc = require('@grpc/grpc-js') as typeof Grpc;
  const Orders = grpc.makeGenericClientConstructor(BENCH_ORDERS_SERVICE, 'Orders');
  const client = new Orders(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as {
    get(request: unknown, metadata: unknown, done: (err: Error | null) => void): void;
    close(): void;
  };
  const metadata = new grpc.Metadata();
  metadata.set('traceparent', TRACEPARENT);
  return {
    one: () =>
      new Promise<void>((resolve, reject) =>
        client.get({ id: 1042 }, metadata, (err) => (err ? reject(err) : resolve())),
      ),
    close: () => client.close(),
  };
}
