// What following requests costs (http.ts: each request a scope continuing the caller's
// traceparent): one HTTP server process with the capture on and one with it off
// (DISTLOG_CAPTURE_HTTP=0), each logging one pino line per request through Distlog's
// transport to the bench's counting OTLP endpoint; the bench process is the client (keep-
// alive, 16 requests in flight, a traceparent on each). Alternating rounds; medians of the
// server's CPU per request (all its threads) and of requests per second. Run by run.ts.
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';

const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 20_000);
const WARM_UP = 2000;
const IN_FLIGHT = 16;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

interface Round {
  cpuUsPerRequest: number;
  requestsPerSecond: number;
  dropped: number;
}

export async function httpBench(endpoint: string, protocol: string): Promise<void> {
  const results = { off: [] as Round[], on: [] as Round[] };
  for (let round = 0; round < ROUNDS; round++)
    for (const capture of ['off', 'on'] as const)
      results[capture].push(await runServer(capture, endpoint, protocol));
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (label: string, rs: Round[]) => ({
    server: label,
    'CPU µs/request': median(rs.map((r) => r.cpuUsPerRequest)).toFixed(1),
    'requests/s': median(rs.map((r) => r.requestsPerSecond)).toFixed(0),
    'records dropped': rs.reduce((n, r) => n + r.dropped, 0),
  });
  console.log(
    `\nrequests followed (HTTP capture): ${REQUESTS} requests, ${IN_FLIGHT} in flight, one pino line each (${ROUNDS} rounds, medians)`,
  );
  const off = row('capture off (DISTLOG_CAPTURE_HTTP=0)', results.off);
  const on = row('capture on (default): a scope per request, 2 more records', results.on);
  console.table([off, on]);
  console.log(
    `a followed request costs ${(Number(on['CPU µs/request']) - Number(off['CPU µs/request'])).toFixed(1)} µs of CPU more ` +
      `(${(Number(on['CPU µs/request']) / Number(off['CPU µs/request'])).toFixed(2)}×)`,
  );
}

async function runServer(capture: 'on' | 'off', endpoint: string, protocol: string): Promise<Round> {
  const child = spawn(process.execPath, [path.join(__dirname, 'http-server.js')], {
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DISTLOG_SERVICE_'))),
      DISTLOG_LEVELS: 'off',
      DISTLOG_CAPTURE_HTTP: capture === 'on' ? '1' : '0',
      BENCH_WARM_UP: String(WARM_UP),
      OTEL_SERVICE_NAME: `http-bench-${capture}`,
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
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const headers = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
  const one = () =>
    new Promise<void>((resolve, reject) =>
      http
        .get({ host: '127.0.0.1', port, path: '/orders/1042', agent, headers }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject),
    );
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
  agent.destroy();
  const report = new Promise<string>((resolve) =>
    child.once('exit', () => resolve(out.split('\n').find((l) => l.startsWith('{')) ?? '')),
  );
  child.kill('SIGINT');
  const line = await report;
  if (!line) throw new Error('the bench HTTP server printed no result');
  const { cpuUsPerRequest, dropped } = JSON.parse(line) as { cpuUsPerRequest: number; dropped: number };
  return { cpuUsPerRequest, requestsPerSecond: REQUESTS / seconds, dropped };
}
