import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { Authenticator, FailureThrottle } from '@distlog/collector/auth';
import { createTestDatabase, dropTestDatabase } from '@distlog/collector/testing';
import { buildApp } from './app';

const TOKEN = 'reader-token-0123456789abcdef';
const WINDOW_MS = 2500;

let ch: ClickHouse;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  ch = await createTestDatabase('throttle');
  const auth = new Authenticator({ ingestKeys: [], users: [{ name: 'ada', secret: TOKEN, role: 'reader' }] });
  app = await buildApp({ ch, auth, throttle: { maxFailures: 3, windowMs: WINDOW_MS } });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
  await dropTestDatabase(ch);
});

const me = (token: string) => fetch(`${base}/api/me`, { headers: { authorization: `Bearer ${token}` } });
const login = (token: string) =>
  fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });

describe('wrong tokens per client address (a real server on a socket)', () => {
  it('after 3 wrong tokens the address gets 429 — a right token too — until the window is over', async () => {
    const started = Date.now();
    expect((await me(TOKEN)).status).toBe(200);
    // Wrong bearer tokens and wrong logins count alike.
    expect((await me('wrong-token-number-one-xxxx')).status).toBe(401);
    expect((await login('wrong-token-number-two-xxxx')).status).toBe(401);
    expect((await me('wrong-token-number-three-xx')).status).toBe(401);

    const refused = await me(TOKEN);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await refused.json()) as { error: string }).error).toMatch(
      /^too many wrong keys or tokens from 127\.0\.0\.1; try again in \d+ s$/,
    );
    expect((await login(TOKEN)).status).toBe(429);

    // The window counts from the first wrong token.
    await new Promise((r) => setTimeout(r, Math.max(0, started + WINDOW_MS + 200 - Date.now())));
    expect((await me(TOKEN)).status).toBe(200);
    expect((await login(TOKEN)).status).toBe(200);
  });
});

describe('behind a trusted reverse proxy (trustProxy)', () => {
  it('counts the client that X-Forwarded-For names, not the proxy', async () => {
    const auth = new Authenticator({
      ingestKeys: [],
      users: [{ name: 'ada', secret: TOKEN, role: 'reader' }],
    });
    const proxied = await buildApp({
      ch,
      auth,
      throttle: { maxFailures: 2, windowMs: 60_000 },
      trustProxy: ['127.0.0.1'],
    });
    const url = await proxied.listen({ host: '127.0.0.1', port: 0 });
    try {
      const asClient = (client: string, token: string) =>
        fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': client } });
      expect((await asClient('203.0.113.7', 'wrong-token-aaaaaaaaaaaa')).status).toBe(401);
      expect((await asClient('203.0.113.7', 'wrong-token-bbbbbbbbbbbb')).status).toBe(401);
      const refused = await asClient('203.0.113.7', TOKEN);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: string }).error).toContain('from 203.0.113.7');
      // Another client behind the same proxy is not held up.
      expect((await asClient('198.51.100.2', TOKEN)).status).toBe(200);
    } finally {
      await proxied.close();
    }
  });
});

describe('FailureThrottle', () => {
  it('counts per address, forgets after the window, and keeps at most maxAddresses', () => {
    const t = new FailureThrottle({ maxFailures: 2, windowMs: 10_000, maxAddresses: 3 });
    t.fail('a', 0);
    expect(t.retryAfterSeconds('a', 1)).toBe(0);
    t.fail('a', 1000);
    expect(t.retryAfterSeconds('a', 1000)).toBe(9);
    expect(t.retryAfterSeconds('b', 1000)).toBe(0);
    expect(t.retryAfterSeconds('a', 10_000)).toBe(0);
    // Memory: a fourth address pushes out the oldest.
    for (const address of ['b', 'c', 'd', 'e']) {
      t.fail(address, 20_000);
      t.fail(address, 20_000);
    }
    expect(t.retryAfterSeconds('b', 20_001)).toBe(0);
    expect(['c', 'd', 'e'].map((a) => t.retryAfterSeconds(a, 20_001))).toEqual([10, 10, 10]);
  });
});
