import type { FastifyInstance } from 'fastify';
import Fastify from 'fastify';
import type { Authenticator, TlsConfig, ThrottleOptions } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import { FailureThrottle } from '@distlog/collector/auth';
import { OPEN_AUTH, registerAuth } from './auth';
import { Sessions } from './sessions';
import { Queries } from './queries';
import { TailFeed } from './tail-feed';
import { registerErrorHandler } from './routes/errors';
import { registerRecordRoutes } from './routes/records';
import { registerTailRoute } from './routes/tail';
import { registerMetricRoutes } from './routes/metrics';
import { registerLevelRoutes } from './routes/levels';
import { registerWebRoutes } from './routes/web';
import { registerStatusRoute } from './routes/status';
import { normalizeBasePath, stripBasePath } from './base-path';

export { WEB_DIR } from './routes/web';

export interface AppOptions {
  ch: ClickHouse;
  /** Built web UI (default: query-ui/dist/web); the API works without it. */
  webDir?: string;
  /** SQL console limits. Defaults 10 s and 10 000 rows. */
  sqlMaxSeconds?: number;
  sqlMaxRows?: number;
  /** The collector's HTTP endpoint, for level control (/api/levels). Default DISTLOG_COLLECTOR_URL or http://127.0.0.1:4318. */
  collectorUrl?: string;
  /** Users and roles (see ./auth.ts); default open. */
  auth?: Authenticator;
  /** Wrong tokens allowed per client address (FailureThrottle, in the collector package); default 10 a minute. */
  throttle?: ThrottleOptions;
  /**
   * Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For names the client:
   * the address that the wrong-token throttle counts. Default none: the peer's address.
   */
  trustProxy?: string[];
  /**
   * The path a reverse proxy serves the UI under (`/distlog`); default none. Requests are
   * answered with it (a proxy that passes its path on) and without (one that strips it);
   * the page is told it as its `<base href>`. A proxy's `X-Forwarded-Prefix` says the same
   * per request, and needs no setting.
   */
  basePath?: string;
  /** Serve HTTPS with this certificate; its `ca` (else the certificate itself) is trusted when calling an https collector. */
  tls?: TlsConfig;
}

/** The query API (and the web UI's static files) as a Fastify app; tests call it with inject(). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const basePath = normalizeBasePath(options.basePath);
  if (basePath === undefined)
    throw new Error(
      `the UI's base path ${JSON.stringify(options.basePath)} is not a plain path such as /distlog (letters, digits, ._~- between slashes)`,
    );
  const app = Fastify({
    ...(basePath ? { rewriteUrl: (req: { url?: string }) => stripBasePath(req.url ?? '/', basePath) } : {}),
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    logger: false,
    // Live-tail streams never end by themselves: closing the server ends them.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: 2000 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
    ...(options.trustProxy?.length ? { trustProxy: options.trustProxy } : {}),
  });
  const queries = new Queries(options.ch);
  const tailFeed = new TailFeed(options.ch, options.auth ?? OPEN_AUTH, options.tls);
  app.addHook('onClose', async () => tailFeed.stop());
  const auth = options.auth ?? OPEN_AUTH;
  registerAuth(
    app as unknown as FastifyInstance,
    auth,
    options.tls !== undefined,
    new FailureThrottle(options.throttle),
    new Sessions(auth, options.ch),
  );

  registerErrorHandler(app as unknown as FastifyInstance);
  const routes = app as unknown as FastifyInstance;
  registerRecordRoutes(routes, queries, options);
  registerTailRoute(routes, tailFeed, queries);
  registerMetricRoutes(routes, options.ch);
  registerLevelRoutes(routes, options);
  registerStatusRoute(routes, { ch: options.ch, auth, tls: options.tls });
  registerWebRoutes(routes, options.webDir, basePath);
  return app as unknown as FastifyInstance;
}

export interface QueryServer {
  port: number;
  stop(): Promise<void>;
}

export async function startQueryServer(
  options: AppOptions & { host?: string; port?: number },
): Promise<QueryServer> {
  const app = await buildApp(options);
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 4320 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 4320);
  return { port, stop: () => app.close() };
}
