// One server for the request-scope bench (http-bench.ts): init() — with or without the HTTP
// or gRPC capture (DISTLOG_CAPTURE_HTTP / _GRPC) — and a handler that logs one pino line
// through Distlog's transport and answers: node:http, or a unary method on @grpc/grpc-js
// (BENCH_SERVED=grpc). It prints its port, then, on SIGINT, one JSON line: the process's CPU
// (every thread) per request served after the warm-up. Not a test.
import http from 'node:http';
import type * as Grpc from '@grpc/grpc-js';
import { init, shutdown, getDistlog } from '../index';
import { BENCH_ORDERS_SERVICE } from './http-server-definition';

init();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- pino after init(), as documented
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
const warmUp = Number(process.env.BENCH_WARM_UP ?? 2000);
let count = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
const served = () => {
  if (++count === warmUp) cpuAtStart = process.cpuUsage();
};
let close = () => {};
if (process.env.BENCH_SERVED === 'grpc') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- grpc-js after init(), like pino
  const grpc = require('@grpc/grpc-js') as typeof Grpc;
  const server = new grpc.Server();
  server.addService(BENCH_ORDERS_SERVICE, {
    get: (call: { request: { id: number } }, callback: (err: null, value: unknown) => void) => {
      served();
      logger.info({ id: call.request.id }, 'order looked up');
      callback(null, { ok: true });
    },
  } as unknown as Grpc.UntypedServiceImplementation);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`port ${port}\n`);
  });
  close = () => server.forceShutdown();
} else {
  const server = http.createServer((req, res) => {
    served();
    logger.info({ path: req.url }, 'order looked up');
    res.end('{"ok":true}');
  });
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`port ${(server.address() as { port: number }).port}\n`),
  );
  close = () => server.close();
}
process.once('SIGINT', () => {
  const cpu = process.cpuUsage(cpuAtStart);
  const measured = count - warmUp;
  const stats = getDistlog()?.stats();
  process.stdout.write(
    JSON.stringify({
      cpuUsPerRequest: (cpu.user + cpu.system) / measured,
      measured,
      dropped: stats?.dropped ?? 0,
    }) + '\n',
  );
  close();
  void shutdown().then(() => process.exit(0));
});
