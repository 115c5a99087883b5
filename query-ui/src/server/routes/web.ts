import { existsSync, readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

export const WEB_DIR = path.resolve(__dirname, '../../../dist/web');

/** The built web UI, when there is one (the API works without it). */
export function registerWebRoutes(app: FastifyInstance, webDir = WEB_DIR): void {
  if (existsSync(path.join(webDir, 'index.html'))) {
    const index = readFileSync(path.join(webDir, 'index.html'));
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
        return reply.type('text/html; charset=utf-8').send(index);
      return reply.code(404).send({ error: `no route for ${req.method} ${req.url.split('?')[0]}` });
    });
  }
}
