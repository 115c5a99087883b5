import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CorsPolicy } from './cors';

// The policy on a real socket, asked as a browser asks (Origin, preflight headers).

async function ask(
  policy: CorsPolicy,
  method: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; handled: boolean }> {
  let handled = false;
  const server = http.createServer((req, res) => {
    handled = policy.handle(req, res, '/v1/logs');
    if (!handled) res.end('passed on');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise((resolve, reject) => {
      const req = http.request({ port, method, path: '/v1/logs', headers }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, handled }));
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.close();
  }
}

const preflight = (origin: string, requestHeaders = 'content-type') => ({
  Origin: origin,
  'Access-Control-Request-Method': 'POST',
  'Access-Control-Request-Headers': requestHeaders,
});

describe('CORS for browser apps (receivers.http.cors)', () => {
  const policy = new CorsPolicy({
    allowedOrigins: ['https://*.example.com'],
    allowedHeaders: ['X-Tenant'],
    maxAge: 600_000,
  });

  it('answers the preflight of an allowed origin, echoing it and the headers asked', async () => {
    const r = await ask(
      policy,
      'OPTIONS',
      preflight('https://shop.example.com', 'content-type, authorization, x-tenant'),
    );
    expect(r.status).toBe(204);
    expect(r.headers).toMatchObject({
      'access-control-allow-origin': 'https://shop.example.com',
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': 'content-type, authorization, x-tenant',
      'access-control-max-age': '600',
      vary: 'Origin',
    });
  });

  it('refuses another origin, or a header not allowed, saying what to configure', async () => {
    const other = await ask(policy, 'OPTIONS', preflight('https://example.org'));
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(other.body).toContain('add the origin to receivers.http.cors.allowedOrigins');
    const header = await ask(
      policy,
      'OPTIONS',
      preflight('https://shop.example.com', 'content-type, x-secret'),
    );
    expect(header.status).toBe(403);
    expect(header.body).toContain('x-secret are not allowed: add them to receivers.http.cors.allowedHeaders');
  });

  it('lets an allowed page read the answer to its POST; requests without Origin pass untouched', async () => {
    const post = await ask(policy, 'POST', { Origin: 'https://shop.example.com' });
    expect({ handled: post.handled, origin: post.headers['access-control-allow-origin'] }).toEqual({
      handled: false,
      origin: 'https://shop.example.com',
    });
    const plain = await ask(policy, 'POST', {});
    expect({ handled: plain.handled, origin: plain.headers['access-control-allow-origin'] }).toEqual({
      handled: false,
      origin: undefined,
    });
  });

  it('without the setting, every page is refused', async () => {
    const r = await ask(new CorsPolicy(undefined), 'OPTIONS', preflight('http://localhost:3000'));
    expect(r.status).toBe(403);
  });
});
