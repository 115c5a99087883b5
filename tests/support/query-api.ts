import type { FastifyInstance } from 'fastify';
import type { ClickHouse } from '@distlog/collector/storage';
import type { AppOptions } from '@distlog/query-ui';
import { buildApp } from '@distlog/query-ui';

/**
 * The query API on a real socket (fastify's inject() loads ESM-only packages that jest
 * cannot load on Node 20), over `ch`; `base` is its http://127.0.0.1:PORT.
 */
export async function listenQueryApi(
  ch: ClickHouse,
  options: Partial<AppOptions> = {},
): Promise<{ app: FastifyInstance; base: string }> {
  const app = await buildApp({ ch, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}
