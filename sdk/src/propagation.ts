import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '@opentelemetry/api';
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import type { ScopeAttributes } from './scope';
import { isPromiseLike, openScope } from './scope';

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
 * caller's trace (from its `traceparent`), named e.g. `GET /orders/:id` (see
 * requestScopeName), with `http.method` and `http.target`, and `http.status_code` in
 * its end record. The scope ends when the response has been sent; a 5xx ends it as failed.
 * A request Distlog already runs in a scope (its HTTP capture, http.ts) is handled in that
 * scope, not in a second one.
 */
export function scopedHandler(
  handler: RequestHandler,
  options: { name?: (req: IncomingMessage) => string; attributes?: ScopeAttributes } = {},
): RequestHandler {
  const scoped: RequestHandler = (req, res) => {
    if (inRequestScope(req)) return handler(req, res);
    return serveInScope(req, res, () => handler(req, res), {
      ...options,
      awaitResult: true,
      inheritHttp: true,
    });
  };
  // A server whose listener this is leaves the request's scope to it (its name and attributes).
  Object.defineProperty(scoped, SCOPED_HANDLER, { value: true });
  return scoped;
}

const SCOPED_HANDLER = Symbol.for('distlog.http.scoped-handler');

/** True when `listener` is a scopedHandler (which makes the request's scope itself). */
export function isScopedHandler(listener: unknown): boolean {
  return (
    typeof listener === 'function' &&
    (listener as unknown as Record<symbol, unknown>)[SCOPED_HANDLER] === true
  );
}

const IN_SCOPE = Symbol.for('distlog.http.request-scope');

/** True when `req` is handled in a scope of its own already. */
export function inRequestScope(req: IncomingMessage): boolean {
  return (req as unknown as Record<symbol, unknown>)[IN_SCOPE] === true;
}

/**
 * @internal Runs `handle` (which serves `req`) in the request's scope and returns what it
 * returned; the scope ends when the response is closed, with its status code (5xx: failed).
 * A handler that throws throws as it would without Distlog — not caught and thrown again,
 * so Node's report of a crash still points at the app's line — and its scope ends failed.
 * `awaitResult`: a promise `handle` returns that rejects ends the scope failed with its
 * error (scopedHandler's handlers; the HTTP capture leaves the app's promises alone).
 */
export function serveInScope<T>(
  req: IncomingMessage,
  res: ServerResponse,
  handle: () => T,
  options: {
    name?: (req: IncomingMessage) => string;
    attributes?: ScopeAttributes;
    awaitResult?: boolean;
    inheritHttp?: boolean;
  } = {},
): T {
  (req as unknown as Record<symbol, unknown>)[IN_SCOPE] = true;
  const target = (req.url ?? '/').split('?', 1)[0];
  const http = { 'http.method': req.method ?? 'GET', 'http.target': target };
  // scopedHandler's requests give every record logged inside the request's http.* (as
  // before); the HTTP capture's only the scope's own records — it leaves the app's lines,
  // which pino also writes to its other targets, as the app wrote them.
  const name = options.name ? options.name(req) : requestScopeName(req.method, target);
  const parent = extractTraceContext(req.headers);
  const opened = options.inheritHttp
    ? openScope(name, Object.assign({}, options.attributes, http), parent)
    : openScope(name, options.attributes ?? {}, parent, http);
  const status = () => ({ 'http.status_code': res.statusCode });
  res.once('close', () =>
    opened.end(res.statusCode >= 500 ? new HttpServerError(res.statusCode) : undefined, status()),
  );
  let returned = false;
  let result: T;
  try {
    result = context.with(opened.context, handle);
    returned = true;
  } finally {
    if (!returned) opened.end(new Error('the request handler threw'), status());
  }
  if (options.awaitResult && isPromiseLike(result))
    result.then(undefined, (err: unknown) => opened.end(err, status()));
  return result;
}

/**
 * A request's scope name: the method and the path, with the path's segments that are ids
 * — numbers, UUIDs, long hexadecimal or mixed letter-and-digit tokens — written `:id`, so
 * that `GET /orders/1042` and `GET /orders/1043` are one scope name (`GET /orders/:id`) in
 * the scope metrics and patterns; the path as requested is the scope's `http.target`.
 */
export function requestScopeName(method: string | undefined, path: string): string {
  const segments = path.split('/').map((segment) => (looksLikeId(segment) ? ':id' : segment));
  return `${method ?? 'GET'} ${segments.join('/') || '/'}`;
}

function looksLikeId(segment: string): boolean {
  if (segment === '') return false;
  if (/^\d+$/.test(segment)) return true;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(segment)) return true;
  if (/^[0-9a-f]{16,}$/i.test(segment)) return true;
  // A token of 12+ characters that mixes digits with letters (object ids, short ids, hashes).
  return segment.length >= 12 && /\d/.test(segment) && /[a-z]/i.test(segment) && /^[\w-]+$/.test(segment);
}

/** Marks a scope whose request answered with a 5xx status. */
export class HttpServerError extends Error {
  constructor(readonly statusCode: number) {
    super(`responded with HTTP ${statusCode}`);
    this.name = 'HttpServerError';
  }
}
