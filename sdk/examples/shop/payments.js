// payments: plain console.* calls, captured by Distlog.
const { init, scope, scopedHandler, captureConsole } = require('@distlog/sdk');

init({ serviceName: 'payments' });
captureConsole({ print: process.env.SHOP_QUIET !== '1' });
const http = require('node:http');

let nextPaymentId = 1;

const server = http.createServer(
  scopedHandler(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const { orderId, amount } = JSON.parse(body);
    const paymentId = `pay-${nextPaymentId++}`;
    await scope('charge card', { orderId, amount }, async () => {
      console.info('charging %d EUR for order %d', amount, orderId);
      await new Promise((r) => setTimeout(r, 3));
      console.log('charged', { paymentId });
    });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ paymentId }));
  }),
);
server.listen(Number(process.env.PAYMENTS_PORT ?? 3003), '127.0.0.1', () =>
  console.info('payments listening'),
);
