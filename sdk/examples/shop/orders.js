// orders: pino with the in-process Distlog destination; a `db` child logger.
const { init, scope, scopedHandler, tracedFetch, distlogDestination } = require('@distlog/sdk');

init({ serviceName: 'orders' });
const pino = require('pino');
const http = require('node:http');

const logger = pino({ name: 'orders', level: 'debug' }, distlogDestination());
const db = logger.child({ module: 'db' });
const paymentsUrl = `http://127.0.0.1:${process.env.PAYMENTS_PORT ?? 3003}`;
let nextOrderId = 1000;

async function readJson(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return JSON.parse(body);
}

const server = http.createServer(
  scopedHandler(async (req, res) => {
    const { item, quantity } = await readJson(req);
    const orderId = nextOrderId++;
    scope('validate order', { orderId }, () => {
      logger.info({ item, quantity }, 'order is valid');
    });
    try {
      await scope('reserve stock', { orderId }, async () => {
        db.debug({ sql: 'UPDATE stock SET reserved = reserved + ? WHERE item = ?' }, 'reserving');
        await new Promise((r) => setTimeout(r, 5));
        if (item === 'unobtainium') throw new Error(`${item} is out of stock`);
        db.info({ item }, 'stock reserved');
      });
    } catch (err) {
      logger.error({ err, orderId }, 'order failed');
      res.statusCode = 409;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ orderId, error: err.message }));
      return;
    }
    const payment = await (
      await tracedFetch(`${paymentsUrl}/payments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ orderId, amount: 12.5 }),
      })
    ).json();
    logger.info({ orderId, paymentId: payment.paymentId }, 'order placed');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ orderId, paymentId: payment.paymentId }));
  }),
);
server.listen(Number(process.env.ORDERS_PORT ?? 3002), '127.0.0.1', () => logger.info('orders listening'));
