import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { ClickHouse } from '@distlog/collector/storage';
import { encodeLogsRequest, logsServiceDefinition, levelControlService } from '@distlog/collector';
import { eventually } from '@distlog/collector/testing';
import { makeRow } from '@distlog/collector/model';
import type { QueryServer } from '@distlog/query-ui';
import type { CollectorProcess } from '../support/collector-process';
import { runFixture, runFixtureOutput } from '../support/collector-process';
import { startSecureStack, stopSecureStack } from '../support/secure-stack';
import type { TestCertificates } from '../support/certs';
import { makeCertificates } from '../support/certs';
import { otlpJson } from '../support/otlp-json';
import { launchChromium } from '../support/browser';

/**
 * Who may send and read, over TLS, with a real collector process and query server:
 * ingest keys (one bound to service "gateway" and tenant "shop", one for any service),
 * users with reader and admin roles, certificates made by the test's own CA.
 * Secrets come from the environment and from files; none may show in logs or metrics.
 */
const GATEWAY_KEY = randomBytes(24).toString('base64url');
const ANY_KEY = randomBytes(24).toString('base64url');
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const READER_TOKEN = randomBytes(24).toString('base64url');
const SHOP_TOKEN = randomBytes(24).toString('base64url');
const SECRETS = [GATEWAY_KEY, ANY_KEY, ADMIN_TOKEN, READER_TOKEN, SHOP_TOKEN];
const tag = randomBytes(4).toString('hex');

let certs: TestCertificates;
let ch: ClickHouse;
let collector: CollectorProcess;
let ui: QueryServer;
let configFile: string;

beforeAll(async () => {
  certs = makeCertificates();
  writeFileSync(path.join(certs.dir, 'admin.token'), ADMIN_TOKEN + '\n');
  configFile = path.join(certs.dir, 'collector.yaml');
  writeFileSync(
    configFile,
    `
tls: { certFile: ${certs.certFile}, keyFile: ${certs.keyFile}, caFile: ${certs.caFile} }
auth:
  ingestKeys:
    - { name: shop-gateway, keyEnv: TEST_GATEWAY_KEY, tenant: shop, services: [gateway] }
    - { name: everything, keyEnv: TEST_ANY_KEY }
  users:
    - { name: alice, tokenFile: ${path.join(certs.dir, 'admin.token')}, role: admin }
    - { name: support, tokenEnv: TEST_READER_TOKEN, role: reader }
    - { name: shop-admin, tokenEnv: TEST_SHOP_TOKEN, role: admin, tenants: [shop] }
`,
  );
  const env = {
    TEST_GATEWAY_KEY: GATEWAY_KEY,
    TEST_ANY_KEY: ANY_KEY,
    TEST_READER_TOKEN: READER_TOKEN,
    TEST_SHOP_TOKEN: SHOP_TOKEN,
  };
  ({ ch, collector, ui } = await startSecureStack('e2e_security', configFile, env));
}, 60_000);

afterAll(() => stopSecureStack({ ch, collector, ui }));

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

/** HTTPS with the test CA trusted (and nothing else). */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: Buffer | null } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.ca === null ? {} : { ca: options.ca ?? certs.ca }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          // A level-control stream never ends by itself: its first event is enough.
          if (res.headers['content-type'] === 'text/event-stream' && text.includes('\n\n')) res.destroy();
        });
        const done = () =>
          resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
        res.on('end', done);
        res.on('close', done);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const collectorUrl = (p: string) => `https://127.0.0.1:${collector.httpPort}${p}`;
const uiUrl = (p: string) => `https://127.0.0.1:${ui.port}${p}`;

function sendJson(service: string, body: string, headers: Record<string, string>, attributes = {}) {
  return request(collectorUrl('/v1/logs'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: otlpJson(service, [{ body: `${tag} ${body}`, attributes }]),
  });
}

async function stored(body: string): Promise<Array<{ ServiceName: string; tenant: string }>> {
  return ch.query(
    `SELECT ServiceName, ResourceAttributes.value[indexOf(ResourceAttributes.key, 'distlog.tenant')] AS tenant
     FROM ${ch.database}.all_logs WHERE Body = '${tag} ${body}'`,
  );
}

describe('ingest keys', () => {
  it('refuse a request without a key or with a wrong one (401, named), and store nothing of it', async () => {
    const none = await sendJson('gateway', 'no key', {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(none.json().message).toMatch(/send an ingest key as "Authorization: Bearer <key>"/);
    const wrong = await sendJson('gateway', 'wrong key', bearer('x'.repeat(32)));
    expect(wrong.status).toBe(401);
    expect(wrong.json().message).toBe('the ingest key is not valid');
    expect(await stored('no key')).toEqual([]);
    expect(await stored('wrong key')).toEqual([]);
  });

  it('a key bound to a service refuses records claiming another service (403, saying which), and stores its own', async () => {
    const other = await sendJson('payments', 'claims payments', bearer(GATEWAY_KEY));
    expect(other.status).toBe(403);
    expect(other.json().message).toBe(
      'ingest key "shop-gateway" may send service.name "gateway"; the request has records of "payments"',
    );
    const own = await sendJson('gateway', 'own service', bearer(GATEWAY_KEY));
    expect(own.status).toBe(200);
    expect(await stored('own service')).toEqual([{ ServiceName: 'gateway', tenant: 'shop' }]);
    expect(await stored('claims payments')).toEqual([]);
  });

  it("the key's tenant replaces whatever tenant the sender claims; a key without limits sends any service", async () => {
    const res = await request(collectorUrl('/v1/logs'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(GATEWAY_KEY) },
      body: JSON.stringify({
        resourceLogs: [
          {
            resource: {
              attributes: [
                { key: 'service.name', value: { stringValue: 'gateway' } },
                { key: 'distlog.tenant', value: { stringValue: 'someone-else' } },
              ],
            },
            scopeLogs: [{ logRecords: [{ body: { stringValue: `${tag} claims a tenant` } }] }],
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(await stored('claims a tenant')).toEqual([{ ServiceName: 'gateway', tenant: 'shop' }]);
    expect((await sendJson('payments', 'any service', bearer(ANY_KEY))).status).toBe(200);
    expect(await stored('any service')).toEqual([{ ServiceName: 'payments', tenant: '' }]);
  });

  it('gRPC over TLS: UNAUTHENTICATED without a key, PERMISSION_DENIED for another service, OK with the key', async () => {
    const Client = grpc.makeGenericClientConstructor(logsServiceDefinition(), 'LogsService');
    const client = new Client(`127.0.0.1:${collector.grpcPort}`, grpc.credentials.createSsl(certs.ca));
    const send = (service: string, body: string, key?: string) =>
      new Promise<grpc.ServiceError | null>((resolve) => {
        const metadata = new grpc.Metadata();
        if (key) metadata.set('authorization', `Bearer ${key}`);
        const bytes = encodeLogsRequest([
          makeRow({
            service,
            scopeName: 'security-test',
            body: `${tag} ${body}`,
            timeUnixNano: BigInt(Date.now()) * 1_000_000n,
          }),
        ]);
        (
          client as unknown as {
            Export: (b: Buffer, m: grpc.Metadata, cb: (e: grpc.ServiceError | null) => void) => void;
          }
        ).Export(bytes, metadata, (e) => resolve(e));
      });
    expect((await send('gateway', 'grpc no key'))?.code).toBe(grpc.status.UNAUTHENTICATED);
    const denied = await send('orders', 'grpc other service', GATEWAY_KEY);
    expect(denied?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(denied?.details).toContain('the request has records of "orders"');
    expect(await send('gateway', 'grpc with key', GATEWAY_KEY)).toBeNull();
    expect(await stored('grpc with key')).toEqual([{ ServiceName: 'gateway', tenant: 'shop' }]);
    client.close();
  });

  it('the ports speak TLS only, with the configured certificate', async () => {
    await expect(
      fetch(`http://127.0.0.1:${collector.httpPort}/healthz`).then((r) => r.status),
    ).rejects.toThrow();
    // Not trusted without the CA.
    await expect(request(collectorUrl('/healthz'), { ca: null })).rejects.toThrow(
      /self.signed|unable to verify/i,
    );
    expect((await request(collectorUrl('/healthz'))).status).toBe(200);
  });
});

describe('level control', () => {
  it('the SDK stream needs an ingest key that may send for the service', async () => {
    const stream = (service: string, headers: Record<string, string>) =>
      request(collectorUrl(`/v1/levels/stream?service=${service}&instance=t`), { headers });
    expect((await stream('gateway', {})).status).toBe(401);
    expect((await stream('orders', bearer(GATEWAY_KEY))).status).toBe(403);
    const ok = await stream('gateway', bearer(GATEWAY_KEY));
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('event: rules');
  });

  it('the gRPC LevelControl stream needs the key too', async () => {
    const Client = grpc.makeGenericClientConstructor(levelControlService(), 'LevelControl');
    const client = new Client(
      `127.0.0.1:${collector.grpcPort}`,
      grpc.credentials.createSsl(certs.ca),
    ) as unknown as {
      Subscribe(req: object, metadata: grpc.Metadata): grpc.ClientReadableStream<unknown[]>;
    };
    const first = (key?: string, service = 'gateway') =>
      new Promise<string>((resolve) => {
        const metadata = new grpc.Metadata();
        if (key) metadata.set('authorization', `Bearer ${key}`);
        const call = client.Subscribe({ service, instance: 'grpc-test' }, metadata);
        call.on('data', () => {
          resolve('rules');
          call.cancel();
        });
        call.on('error', (e: grpc.ServiceError) => resolve(grpc.status[e.code]));
      });
    expect(await first()).toBe('UNAUTHENTICATED');
    expect(await first(GATEWAY_KEY, 'orders')).toBe('PERMISSION_DENIED');
    expect(await first(GATEWAY_KEY)).toBe('rules');
    (client as unknown as grpc.Client).close();
  });

  it('changing levels needs an admin (whose name becomes setBy); a reader may only look', async () => {
    const rule = JSON.stringify({
      service: 'secure-app',
      logger: '*',
      level: 'debug',
      for: '5m',
      setBy: 'mallory',
    });
    const post = (headers: Record<string, string>) =>
      request(collectorUrl('/v1/levels'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: rule,
      });
    expect((await post({})).status).toBe(401);
    expect((await post(bearer(GATEWAY_KEY))).status).toBe(401);
    const reader = await post(bearer(READER_TOKEN));
    expect(reader.status).toBe(403);
    expect(reader.json().error).toBe('user "support" is a reader; this needs the admin role');
    const admin = await post(bearer(ADMIN_TOKEN));
    expect(admin.status).toBe(201);
    expect(admin.json().rule).toMatchObject({ service: 'secure-app', level: 'debug', setBy: 'alice' });
    expect((await request(collectorUrl('/v1/levels'), { headers: bearer(READER_TOKEN) })).status).toBe(200);
  });

  it('an SDK app configured by OTEL_* variables sends over TLS with its key and follows the level rule', async () => {
    const [out] = await runFixture('secure-app.js', {
      FIXTURE_TAG: tag,
      OTEL_SERVICE_NAME: 'secure-app',
      OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${collector.grpcPort}`,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${ANY_KEY}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caFile,
    });
    expect(out.level).toBe('debug');
    const rows = await eventually(async () => {
      const r = await ch.query<{ Body: string }>(
        `SELECT Body FROM ${ch.database}.all_logs WHERE ServiceName = 'secure-app' AND Body LIKE '${tag}%' ORDER BY Body`,
      );
      return r.length >= 2 ? r : undefined;
    });
    expect(rows?.map((r) => r.Body)).toEqual([`${tag} debug after the rule`, `${tag} info over tls`]);
  }, 30_000);

  it('an SDK app whose key the collector refuses says so on stderr, once (not only with OTEL_LOG_LEVEL)', async () => {
    const { stderr } = await runFixtureOutput('secure-app.js', {
      FIXTURE_TAG: `${tag}-refused`,
      FIXTURE_WAIT_MS: '0',
      OTEL_SERVICE_NAME: 'secure-app',
      OTEL_EXPORTER_OTLP_ENDPOINT: `https://127.0.0.1:${collector.grpcPort}`,
      OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${'w'.repeat(32)}`,
      OTEL_EXPORTER_OTLP_CERTIFICATE: certs.caFile,
    });
    const said = stderr.split('\n').filter((l) => l.startsWith('distlog: cannot send log records'));
    expect(said).toEqual([
      `distlog: cannot send log records to the collector at https://127.0.0.1:${collector.grpcPort} (gRPC): ` +
        '16 UNAUTHENTICATED: the ingest key is not valid; they are lost until it takes them again (counted: stats().failed)',
    ]);
  }, 30_000);
});

describe('query API and web UI', () => {
  it('needs a user token: 401 without, readers search, the SQL console needs an admin', async () => {
    const search = `/api/search?text=${tag}&since=1h`;
    const anonymous = await request(uiUrl(search));
    expect(anonymous.status).toBe(401);
    expect(anonymous.json().error).toBe('log in: this Distlog requires a user token');
    expect((await request(uiUrl(search), { headers: bearer(GATEWAY_KEY) })).status).toBe(401);
    const asReader = await request(uiUrl(search), { headers: bearer(READER_TOKEN) });
    expect(asReader.status).toBe(200);
    expect((asReader.json().records as unknown[]).length).toBeGreaterThan(0);

    const sql = (token: string) =>
      request(uiUrl('/api/sql'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer(token) },
        body: JSON.stringify({ sql: 'SELECT 1 AS one' }),
      });
    expect((await sql(READER_TOKEN)).status).toBe(403);
    expect((await sql(ADMIN_TOKEN)).status).toBe(200);
  });

  it("the status needs a reader: each collector is asked over TLS with the caller's token; not for a tenant-limited user", async () => {
    expect((await request(collectorUrl('/v1/status'))).status).toBe(401);
    expect((await request(collectorUrl('/v1/status'), { headers: bearer(GATEWAY_KEY) })).status).toBe(401);
    const direct = await request(collectorUrl('/v1/status'), { headers: bearer(READER_TOKEN) });
    expect(direct.status).toBe(200);
    expect(direct.json()).toMatchObject({ ready: true });
    // The collector's URL without its credentials, were there any.
    expect(JSON.stringify(direct.json())).not.toContain(READER_TOKEN);

    expect((await request(uiUrl('/api/status'))).status).toBe(401);
    const asReader = await request(uiUrl('/api/status'), { headers: bearer(READER_TOKEN) });
    expect(asReader.status).toBe(200);
    expect(asReader.json()).toMatchObject({
      problems: [],
      collectors: [{ url: `https://127.0.0.1:${collector.httpPort}`, status: { ready: true } }],
    });
    const asShop = await request(uiUrl('/api/status'), { headers: bearer(SHOP_TOKEN) });
    expect(asShop.status).toBe(403);
    expect(asShop.json().error).toContain("the status counts every tenant's records");
  });

  it("a user limited to a tenant (even an admin) reads only that tenant's records, everywhere, and has no SQL console", async () => {
    type Rec = { body: string; traceId: string; id: string; resource: Record<string, string> };
    const get = async (p: string, token: string) => {
      const res = await request(uiUrl(p), { headers: bearer(token) });
      expect(res.status).toBe(200);
      return res.json();
    };
    // One trace across two tenants.
    const traceId = randomBytes(16).toString('hex');
    for (const [service, key] of [
      ['gateway', GATEWAY_KEY],
      ['payments', ANY_KEY],
    ])
      await request(collectorUrl('/v1/logs'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...bearer(key) },
        body: otlpJson(service, [
          { body: `${tag} traced ${service}`, traceId, spanId: randomBytes(8).toString('hex') },
        ]),
      });
    expect(((await get(`/api/trace/${traceId}`, READER_TOKEN)).records as Rec[]).length).toBe(2);
    expect(((await get(`/api/trace/${traceId}`, SHOP_TOKEN)).records as Rec[]).map((r) => r.body)).toEqual([
      `${tag} traced gateway`,
    ]);
    const all = (await get(`/api/search?text=${tag}&since=1h&limit=1000`, READER_TOKEN)).records as Rec[];
    const mine = (await get(`/api/search?text=${tag}&since=1h&limit=1000`, SHOP_TOKEN)).records as Rec[];
    const shopBodies = all.filter((r) => r.resource['distlog.tenant'] === 'shop').map((r) => r.body);
    expect(shopBodies.length).toBeGreaterThan(0);
    expect(all.length).toBeGreaterThan(shopBodies.length);
    expect(mine.map((r) => r.body).sort()).toEqual(shopBodies.sort());

    const histogram = await get(`/api/histogram?text=${tag}&since=1h`, SHOP_TOKEN);
    const counted = (histogram.buckets as Array<{ count: number }>).reduce((n, b) => n + b.count, 0);
    expect(counted).toBe(shopBodies.length);
    const facets = await get('/api/facets?since=1h', SHOP_TOKEN);
    expect(facets.services).toEqual(['gateway']);

    // Another tenant's record: its context and its trace are empty for this user.
    const foreign = all.find((r) => r.resource['distlog.tenant'] !== 'shop')!;
    const context = await request(uiUrl(`/api/context/${encodeURIComponent(foreign.id)}`), {
      headers: bearer(SHOP_TOKEN),
    });
    expect(context.status).toBe(404);
    expect(
      (
        await request(uiUrl(`/api/context/${encodeURIComponent(foreign.id)}`), {
          headers: bearer(READER_TOKEN),
        })
      ).status,
    ).toBe(200);
    expect((await get(`/api/me`, SHOP_TOKEN)).tenants).toEqual(['shop']);
    const sql = await request(uiUrl('/api/sql'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(SHOP_TOKEN) },
      body: JSON.stringify({ sql: 'SELECT 1' }),
    });
    expect(sql.status).toBe(403);
    expect(sql.json().error).toContain('the SQL console reads every tenant');
  });

  it('login sets an HttpOnly, SameSite=Strict, Secure session cookie that works until logout', async () => {
    const bad = await request(uiUrl('/api/login'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: 'guess-guess-guess-guess' }),
    });
    expect(bad.status).toBe(401);
    const login = await request(uiUrl('/api/login'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token: READER_TOKEN }),
    });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).toMatch(/Secure/);
    const cookie = setCookie.split(';')[0];
    expect((await request(uiUrl('/api/me'), { headers: { Cookie: cookie } })).json()).toEqual({
      name: 'support',
      role: 'reader',
      authRequired: true,
    });
    // Level changes through the UI go to the collector with the user's own rights.
    const change = await request(uiUrl('/api/levels'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Cookie: cookie },
      body: JSON.stringify({ service: 'x', logger: '*', level: 'debug', for: '1m' }),
    });
    expect(change.status).toBe(403);
    const listed = await request(uiUrl('/api/levels'), { headers: { Cookie: cookie } });
    expect(listed.status).toBe(200);
    await request(uiUrl('/api/logout'), {
      method: 'POST',
      headers: { Cookie: cookie, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect((await request(uiUrl('/api/me'), { headers: { Cookie: cookie } })).status).toBe(401);
  });

  it('an admin changes levels through the UI, proxied to the TLS collector', async () => {
    const change = await request(uiUrl('/api/levels'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(ADMIN_TOKEN) },
      body: JSON.stringify({ service: 'through-ui', logger: '*', level: 'warn', for: '1m' }),
    });
    expect(change.status).toBe(201);
    expect(change.json().rule).toMatchObject({ service: 'through-ui', setBy: 'alice' });
  });
});

describe('web UI login (Chromium)', () => {
  it('shows a login form; a reader logs in, searches, has no SQL tab, and logs out', async () => {
    const browser = await launchChromium();
    try {
      // The page trusts the test CA through the browser's exception for it: Chromium has no CA option.
      const page = await browser.newPage({ ignoreHTTPSErrors: true });
      await page.goto(uiUrl('/'));
      await page.getByTestId('login').waitFor();
      await page.fill('[data-testid=login] input', 'not-a-valid-token-at-all');
      await page.click('[data-testid=login] button');
      await page.getByText('the token is not valid').waitFor();
      /** Logs in with `token`: who the page says is logged in, and the pages it offers. */
      const logIn = async (token: string) => {
        await page.fill('[data-testid=login] input', token);
        await page.click('[data-testid=login] button');
        await page.getByTestId('user').waitFor();
        return {
          user: await page.getByTestId('user').innerText(),
          nav: await page.locator('header nav a').allInnerTexts(),
        };
      };
      const logOut = async () => {
        await page.click('[data-testid=user] button');
        await page.getByTestId('login').waitFor();
      };
      const pages = ['Search', 'Patterns', 'Live tail', 'Metrics', 'Levels'];
      const reader = await logIn(READER_TOKEN);
      expect(reader.user).toContain('support (reader)');
      expect(reader.nav).toEqual([...pages, 'Status']);
      await page.goto(uiUrl(`/?text=${tag}&since=1h`));
      await page.getByText(`${tag} own service`).first().waitFor();
      await logOut();
      // An admin limited to a tenant: neither the SQL console nor the status (both show every tenant).
      const shop = await logIn(SHOP_TOKEN);
      expect(shop.user).toContain('shop-admin (admin, tenants shop)');
      expect(shop.nav).toEqual(pages);
      await logOut();
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('secrets', () => {
  it('appear neither in the collector log nor in its metrics', async () => {
    const metrics = await request(collectorUrl('/metrics'));
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/reason="unauthenticated"/);
    for (const secret of SECRETS) {
      expect(collector.stderr()).not.toContain(secret);
      expect(metrics.text).not.toContain(secret);
    }
  });
});
