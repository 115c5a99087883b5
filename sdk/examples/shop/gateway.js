// gateway: the public entry. pino through the Distlog transport (worker thread).
const { init, scope, scopedHandler, tracedFetch } = require('@distlog/sdk');

init({ serviceName: 'gateway' }); // before pino is loaded, so its lines get trace context
const pino = require('pino');
const http = require('node:http');
const { trace } = require('@opentelemetry/api');

const logger = pino({ name: 'gateway', transport: { target: '@distlog/sdk/pino' } });
const ordersUrl = `http://127.0.0.1:${process.env.ORDERS_PORT ?? 3002}`;

const server = http.createServer(
  scopedHandler(async (req, res) => {
    const traceId = trace.getActiveSpan().spanContext().traceId;
    const item = new URL(req.url, 'http://x').searchParams.get('item') ?? 'book';
    logger.info({ item }, 'checkout requested');
    logger.debug({ item, userAgent: req.headers['user-agent'] }, 'routing checkout to orders');
    if (process.env.STOCK_PORT) {
      // The Python service (SHOP_PYTHON=1): one trace across Node and Python.
      const stock = await (
        await tracedFetch(`http://127.0.0.1:${process.env.STOCK_PORT}/stock?item=${item}`)
      ).json();
      logger.info({ item, quantity: stock.quantity }, 'stock checked');
    }
    const order = await scope('create order', { item }, async () => {
      const response = await tracedFetch(`${ordersUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ item, quantity: 1 }),
      });
      return response.json();
    });
    // A failed downstream call logged as an error: it also sends what an onError rule held.
    if (order.error) logger.error({ orderId: order.orderId, reason: order.error }, 'checkout refused');
    else logger.info({ orderId: order.orderId }, 'checkout done');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ traceId, ...order }));
  }),
);
server.listen(Number(process.env.GATEWAY_PORT ?? 3001), '127.0.0.1', () => logger.info('gateway listening'));
