// Starts the three services (child processes) and, with --request, sends checkouts
// through them and prints `{"traceId": …}`. Ctrl-C (or SIGTERM) stops all three, and
// each flushes its records on the way out.
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');

const ports = {
  GATEWAY_PORT: process.env.GATEWAY_PORT ?? '3001',
  ORDERS_PORT: process.env.ORDERS_PORT ?? '3002',
  PAYMENTS_PORT: process.env.PAYMENTS_PORT ?? '3003',
};
// SHOP_PYTHON=1: the gateway also asks a Python service, `stock` (../python/stock.py,
// Distlog for Python over OTLP/HTTP: SHOP_OTLP_HTTP_ENDPOINT, default :4318), before ordering.
if (process.env.SHOP_PYTHON === '1') ports.STOCK_PORT = process.env.STOCK_PORT ?? '3004';
const children = ['payments', 'orders', 'gateway'].map((name) =>
  spawn(process.execPath, [path.join(__dirname, `${name}.js`)], {
    env: { ...process.env, ...ports, SHOP_QUIET: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  }),
);
if (ports.STOCK_PORT)
  children.push(
    spawn(process.env.SHOP_PYTHON_BIN ?? 'python3', [path.join(__dirname, '../python/stock.py')], {
      env: {
        ...process.env,
        ...ports,
        PYTHONPATH: path.join(__dirname, '../../python'),
        OTEL_SERVICE_NAME: 'stock',
        OTEL_EXPORTER_OTLP_ENDPOINT: process.env.SHOP_OTLP_HTTP_ENDPOINT ?? 'http://127.0.0.1:4318',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on port ${port}`);
}

async function stop() {
  await Promise.all(
    children.map((child) =>
      child.exitCode === null
        ? new Promise((resolve) => (child.once('exit', resolve), child.kill('SIGTERM')))
        : null,
    ),
  );
}

async function main() {
  await Promise.all(Object.values(ports).map(waitForPort));
  if (process.argv.includes('--request')) {
    // SHOP_REQUESTS checkouts (default 1); every fifth asks for an item that is out of stock.
    const count = Number(process.env.SHOP_REQUESTS ?? 1);
    for (let i = 0; i < count; i++) {
      const item = i % 5 === 4 ? 'unobtainium' : 'book';
      const res = await fetch(`http://127.0.0.1:${ports.GATEWAY_PORT}/checkout?item=${item}`);
      process.stdout.write(JSON.stringify(await res.json()) + '\n');
    }
    if (!process.argv.includes('--stay')) return stop();
  }
  process.stderr.write('shop is running; Ctrl-C stops it\n');
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
}

main().catch(async (err) => {
  process.stderr.write(`${err.stack}\n`);
  await stop();
  process.exit(1);
});
