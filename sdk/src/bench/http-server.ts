// One HTTP server for the request-scope bench (http-bench.ts): init() — with or without the
// HTTP capture (DISTLOG_CAPTURE_HTTP) — and a handler that logs one pino line through
// Distlog's transport and answers. It prints its port, then, on SIGINT, one JSON line: the
// process's CPU (every thread) per request served after the warm-up. Not a test.
import http from 'node:http';
import { init, shutdown, getDistlog } from '../index';

init();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- pino after init(), as documented
const logger = require('pino')({ transport: { target: '@distlog/sdk/pino' } });
const warmUp = Number(process.env.BENCH_WARM_UP ?? 2000);
let served = 0;
let cpuAtStart: NodeJS.CpuUsage | undefined;
const server = http.createServer((req, res) => {
  if (++served === warmUp) cpuAtStart = process.cpuUsage();
  logger.info({ path: req.url }, 'order looked up');
  res.end('{"ok":true}');
});
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`port ${(server.address() as { port: number }).port}\n`),
);
process.once('SIGINT', () => {
  const cpu = process.cpuUsage(cpuAtStart);
  const measured = served - warmUp;
  const stats = getDistlog()?.stats();
  process.stdout.write(
    JSON.stringify({
      cpuUsPerRequest: (cpu.user + cpu.system) / measured,
      measured,
      dropped: stats?.dropped ?? 0,
    }) + '\n',
  );
  server.close();
  void shutdown().then(() => process.exit(0));
});
