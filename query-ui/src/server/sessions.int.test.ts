import type { FastifyInstance } from 'fastify';
import type { AuthConfig } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import { Authenticator } from '@distlog/collector/auth';
import { createTestDatabase, dropTestDatabase, eventually } from '@distlog/collector/testing';
import { buildApp } from './app';

// Two query servers on one ClickHouse, as behind a load balancer: a session made on one
// works on the other and after a restart; a logout on one ends it on both.
const ADA = 'ada-token-0123456789abcdef';
const BOB = 'bob-token-0123456789abcdef';
const KEY_OLD = 'session-key-old-0123456789';
const KEY_NEW = 'session-key-new-0123456789';
const users: AuthConfig['users'] = [
  { name: 'ada', secret: ADA, role: 'admin' },
  { name: 'bob', secret: BOB, role: 'reader' },
];

let ch: ClickHouse;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  ch = await createTestDatabase('sessions');
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await dropTestDatabase(ch);
});

async function server(config: Partial<AuthConfig> = {}): Promise<string> {
  const app = await buildApp({ ch, auth: new Authenticator({ ingestKeys: [], users, ...config }) });
  apps.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function login(base: string, token: string): Promise<string> {
  const res = await fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(200);
  return /distlog_session=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1];
}

const me = async (base: string, cookie: string) => {
  const res = await fetch(`${base}/api/me`, { headers: { cookie: `distlog_session=${cookie}` } });
  return { status: res.status, body: (await res.json()) as { name?: string; error?: string } };
};

describe('sessions that live in no process', () => {
  it('a session made on one query server works on another and after a restart; logout ends it on both', async () => {
    const a = await server();
    const b = await server();
    const session = await login(a, ADA);
    expect(await me(a, session)).toMatchObject({ status: 200, body: { name: 'ada' } });
    expect(await me(b, session)).toMatchObject({ status: 200, body: { name: 'ada' } });
    // A restarted server (a new process: nothing in memory) accepts it too.
    const restarted = await server();
    expect(await me(restarted, session)).toMatchObject({ status: 200, body: { name: 'ada' } });

    const other = await login(b, BOB);
    const out = await fetch(`${a}/api/logout`, {
      method: 'POST',
      headers: { cookie: `distlog_session=${session}` },
    });
    expect(out.status).toBe(200);
    expect((await me(a, session)).status).toBe(401); // at once where it was made
    // …and on the other server as soon as it has read the logout from ClickHouse.
    expect(await eventually(async () => (await me(b, session)).status === 401, 5_000)).toBe(true);
    expect(await eventually(async () => (await me(restarted, session)).status === 401, 5_000)).toBe(true);
    // Other sessions are unaffected.
    expect(await me(a, other)).toMatchObject({ status: 200, body: { name: 'bob' } });
    const [row] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${ch.database}.revoked_sessions`);
    expect(Number(row.n)).toBe(1);
  });

  it('refuses a tampered, foreign or expired cookie, and one whose token is no longer configured', async () => {
    const base = await server();
    const session = await login(base, BOB);
    const [body, sig] = session.split('.');
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...payload, u: 'ada' })).toString('base64url');
    expect((await me(base, `${forged}.${sig}`)).status).toBe(401);
    expect((await me(base, `${body}.${sig.slice(0, -2)}AA`)).status).toBe(401);
    expect((await me(base, 'not-a-session')).status).toBe(401);
    const expired = Buffer.from(JSON.stringify({ ...payload, e: Date.now() - 1 })).toString('base64url');
    expect((await me(base, `${expired}.${sig}`)).status).toBe(401);
    // bob's token changed in the configuration: his sessions end.
    const changed = await buildApp({
      ch,
      auth: new Authenticator({ ingestKeys: [], users: [users[0], { ...users[1], secret: `${BOB}-new` }] }),
    });
    apps.push(changed);
    const changedBase = await changed.listen({ host: '127.0.0.1', port: 0 });
    expect((await me(changedBase, session)).status).toBe(401);
  });

  it('session keys rotate without logging anyone out: the first signs, every one is accepted', async () => {
    const before = await server({ sessionKeys: [KEY_OLD] });
    const during = await server({ sessionKeys: [KEY_NEW, KEY_OLD] });
    const after = await server({ sessionKeys: [KEY_NEW] });
    const old = await login(before, ADA);
    expect((await me(during, old)).status).toBe(200);
    const fresh = await login(during, ADA);
    expect((await me(before, fresh)).status).toBe(401); // signed with a key it does not know
    expect((await me(after, fresh)).status).toBe(200);
    expect((await me(after, old)).status).toBe(401); // the old key retired
  });
});
