import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import { createTestDatabase, dropTestDatabase } from '@distlog/collector/testing';
import { buildApp } from './app';
import { normalizeBasePath, stripBasePath } from './base-path';

// The web UI behind a reverse proxy at a path (`https://ops.example.com/distlog/`): the page
// is told its base, its files and the API are found under it, whether the proxy strips the
// path (and may say it in X-Forwarded-Prefix) or passes it on. Before, the page asked for
// /assets/… and /api/… at the host's root: a blank page, nothing said.

let ch: ClickHouse;
const apps: FastifyInstance[] = [];

beforeAll(async () => {
  ch = await createTestDatabase('base_path');
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await dropTestDatabase(ch);
});

/** A query server listening (light-my-request's inject() does not load under jest here). */
async function app(
  basePath?: string,
): Promise<{ get(url: string, headers?: Record<string, string>): Promise<Answer> }> {
  const a = await buildApp({ ch, ...(basePath !== undefined ? { basePath } : {}) });
  apps.push(a);
  const origin = await a.listen({ host: '127.0.0.1', port: 0 });
  return {
    async get(url, headers = {}) {
      const res = await fetch(origin + url, { headers });
      return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
  };
}

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const json = (res: Answer) => JSON.parse(res.body) as Record<string, unknown>;

const baseOf = (html: string) => /<base href="([^"]*)"/.exec(html)?.[1];
const assetOf = (html: string) => /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];

describe('base path', () => {
  it('is a plain path or refused', () => {
    expect(normalizeBasePath(undefined)).toBe('');
    expect(normalizeBasePath('/')).toBe('');
    expect(normalizeBasePath('/distlog')).toBe('/distlog');
    expect(normalizeBasePath('/ops/distlog/')).toBe('/ops/distlog');
    for (const bad of ['distlog', '/a b', '/a/../b', '/"><script>', '//evil.example', '/a?b'])
      expect(normalizeBasePath(bad)).toBeUndefined();
    expect(stripBasePath('/distlog/api/me', '/distlog')).toBe('/api/me');
    expect(stripBasePath('/distlog', '/distlog')).toBe('/');
    expect(stripBasePath('/distlog?x=1', '/distlog')).toBe('/?x=1');
    expect(stripBasePath('/distlogs/x', '/distlog')).toBe('/distlogs/x');
    expect(stripBasePath('/api/me', '/distlog')).toBe('/api/me');
  });

  it('behind a proxy that passes its path on (DISTLOG_UI_BASE_PATH): page, files and API under it, and at the root', async () => {
    const a = await app('/distlog/');
    for (const url of ['/distlog/', '/distlog', '/distlog/trace/0123456789abcdef0123456789abcdef', '/tail']) {
      const res = await a.get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(baseOf(res.body)).toBe('/distlog/');
    }
    const page = (await a.get('/distlog/')).body;
    const asset = assetOf(page);
    expect(asset).toBeDefined();
    for (const url of [`/distlog/${asset}`, `/${asset}`]) {
      const res = await a.get(url);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/javascript/);
    }
    for (const url of ['/distlog/api/me', '/api/me']) {
      const res = await a.get(url);
      expect(res.statusCode).toBe(200);
      expect(json(res)).toMatchObject({ role: 'admin' });
    }
    // An API path that does not exist is still a JSON 404, under the base too.
    const missing = await a.get('/distlog/api/nothing');
    expect(missing.statusCode).toBe(404);
    expect(json(missing).error).toContain('/api/nothing');
  });

  it('behind a proxy that strips its path: X-Forwarded-Prefix gives the page its base, without a setting', async () => {
    const a = await app();
    const at = async (headers: Record<string, string> = {}) =>
      baseOf((await a.get('/trace/0123456789abcdef0123456789abcdef', headers)).body);
    expect(await at()).toBe('/');
    expect(await at({ 'x-forwarded-prefix': '/ops/distlog' })).toBe('/ops/distlog/');
    // A value that is not a plain path is not written into the page.
    expect(await at({ 'x-forwarded-prefix': '/"><script>alert(1)</script>' })).toBe('/');
    const res = await a.get('/', { 'x-forwarded-prefix': '/x' });
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers.vary).toMatch(/X-Forwarded-Prefix/i);
  });

  it('refuses a base path that is not a plain path, naming it', async () => {
    await expect(buildApp({ ch, basePath: 'distlog' })).rejects.toThrow(/"distlog" is not a plain path/);
  });
});
