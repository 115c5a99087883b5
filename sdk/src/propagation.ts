import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '@opentelemetry/api';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { ScopeAttributes } from './scope';
import { runScope } from './scope';

/**
 * Carrying a scope to the next process as W3C `traceparent` (+ `tracestate`,
 * `baggage`), so a request's tree continues across services.
 */

/** Adds the current context's `traceparent`/`tracestate`/`baggage` to `headers` and returns it. */
export function injectTraceHeaders<T extends Record<string, string>>(
  headers: T = {} as T,
  ctx: Context = context.active(),
): T {
  propagation.inject(ctx, headers);
  return headers;
}

/** The context described by incoming request headers (the root context when there are none). */
export function extractTraceContext(
  headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
): Context {
  return propagation.extract(ROOT_CONTEXT, headers, {
    keys: (carrier) => Object.keys(carrier),
    get: (carrier, key) => {
      const value = carrier[key.toLowerCase()] ?? carrier[key];
      return Array.isArray(value) ? value[0] : value;
    },
  });
}

/**
 * `fetch` that sends the current scope along: same arguments and result as the
 * global fetch, with trace headers added (headers the caller set are kept).
 */
export function tracedFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  const carrier: Record<string, string> = {};
  injectTraceHeaders(carrier);
  for (const [key, value] of Object.entries(carrier)) if (!headers.has(key)) headers.set(key, value);
  return fetch(input, { ...init, headers });
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wraps a node:http request handler: each request runs in a scope that continues the
 * caller's trace (from its `traceparent`), named e.g. `GET /orders`, with
 * `http.method`, `http.target` and, at the end, the status code in the end record.
 * The scope ends when the response has been sent.
 */
export function scopedHandler(
  handler: RequestHandler,
  options: { name?: (req: IncomingMessage) => string; attributes?: ScopeAttributes } = {},
): RequestHandler {
  return (req, res) => {
    const parent = extractTraceContext(req.headers);
    const path = (req.url ?? '/').split('?', 1)[0];
    const name = options.name ? options.name(req) : `${req.method ?? 'GET'} ${path}`;
    const attributes: ScopeAttributes = {
      ...options.attributes,
      'http.method': req.method ?? 'GET',
      'http.target': path,
    };
    return runScope(
      name,
      attributes,
      parent,
      () =>
        new Promise<void>((resolve, reject) => {
          res.once('close', () =>
            res.statusCode >= 500 ? reject(new HttpServerError(res.statusCode)) : resolve(),
          );
          try {
            const result = handler(req, res);
            if (result && typeof (result as Promise<unknown>).catch === 'function') {
              (result as Promise<unknown>).catch((err) => reject(err));
            }
          } catch (err) {
            reject(err);
          }
        }),
    ).catch(() => undefined);
  };
}

/** Marks a scope whose request answered with a 5xx status. */
export class HttpServerError extends Error {
  constructor(readonly statusCode: number) {
    super(`responded with HTTP ${statusCode}`);
    this.name = 'HttpServerError';
  }
}
