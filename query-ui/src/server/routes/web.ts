import { existsSync, readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizeBasePath } from '../base-path';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

export const WEB_DIR = path.resolve(__dirname, '../../../dist/web');

/**
 * The built web UI, when there is one (the API works without it). Its files refer to each
 * other relatively; the page is given the path it is served under as its `<base href>`:
 * the proxy's `X-Forwarded-Prefix`, else `basePath` (DISTLOG_UI_BASE_PATH), else `/`.
 */
export function registerWebRoutes(app: FastifyInstance, webDir = WEB_DIR, basePath = ''): void {
  if (existsSync(path.join(webDir, 'index.html'))) {
    const index = readFileSync(path.join(webDir, 'index.html'), 'utf8');
    const pages = new Map<string, string>();
    const pageFor = (req: FastifyRequest) => {
      const forwarded = req.headers['x-forwarded-prefix'];
      const base = (typeof forwarded === 'string' ? normalizeBasePath(forwarded) : undefined) ?? basePath;
      let page = pages.get(base);
      if (page === undefined) {
        page = index.replace('<head>', `<head>\n    <base href="${base}/" />`);
        if (pages.size < 16) pages.set(base, page);
      }
      return page;
    };
    // The built UI is a handful of files: served here rather than through a static-files plugin.
    app.get('/assets/*', async (req, reply) => {
      const name = (req.params as { '*': string })['*'];
      if (!/^[\w.-]+$/.test(name)) return reply.code(404).send({ error: 'no such asset' });
      try {
        const body = await fs.readFile(path.join(webDir, 'assets', name));
        return reply
          .type(CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream')
          .header('Cache-Control', 'public, max-age=31536000, immutable')
          .send(body);
      } catch {
        return reply.code(404).send({ error: 'no such asset' });
      }
    });
    // The UI's routes (/, /trace/…, /tail, /sql) are client-side: serve the page for them.
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/'))
        return reply
          .type('text/html; charset=utf-8')
          .header('Cache-Control', 'no-cache')
          .header('Vary', 'X-Forwarded-Prefix')
          .send(pageFor(req));
      return reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` });
    });
  }
}
