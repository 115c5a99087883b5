import http from 'node:http';
import https from 'node:https';
import diagnosticsChannel from 'node:diagnostics_channel';
import { syncBuiltinESMExports } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { context, propagation, trace, isSpanContextValid } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { inRequestScope, isScopedHandler, serveInScope } from './propagation';

/**
 * Requests followed across services with no code: what `scopedHandler` and `tracedFetch`
 * do, for every HTTP server and client in the process (on by default with init() and
 * `-r`/`--import @distlog/sdk/register`; `init({ http: false })` or DISTLOG_CAPTURE_HTTP=0
 * turns it off).
 *
 * - Incoming: each request a node:http or node:https server (express, fastify, koa, a bare
 *   handler) emits runs in a scope that continues the caller's `traceparent`, named
 *   `GET /orders/:id` (propagation.ts), ending with the response (`http.status_code`;
 *   5xx: failed). `Server.prototype.emit` is wrapped for the 'request' event.
 * - Outgoing: requests made with node:http / node:https (`request`, `get`, and the
 *   libraries built on them: axios, got, node-fetch) and with the global `fetch` (undici's
 *   `undici:request:create` diagnostics channel) carry the current scope's `traceparent`,
 *   `tracestate` and `baggage`, unless the caller set a `traceparent` itself.
 *
 * Where another instrumentation makes the request spans already — OpenTelemetry's
 * http instrumentation in the app, wrapping the same functions before or after Distlog —
 * Distlog adds no scope and no headers of its own: one span per request.
 */

const SERVERS = [http.Server.prototype, https.Server.prototype] as unknown as Array<Record<string, unknown>>;
const CLIENTS = [http, https] as unknown as Array<Record<string, unknown>>;
const WRAPPED = Symbol.for('distlog.http.wrapped');

type Emit = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type Request = (...args: unknown[]) => http.ClientRequest;

let restore: Array<() => void> | undefined;

/** Starts following requests in and out (idempotent). */
export function captureHttp(): void {
  if (restore) return;
  restore = [];
  for (const proto of SERVERS) restore.push(wrapEmit(proto));
  for (const mod of CLIENTS) restore.push(wrapRequests(mod));
  diagnosticsChannel.subscribe('undici:request:create', onFetchRequest);
  restore.push(() => diagnosticsChannel.unsubscribe('undici:request:create', onFetchRequest));
  // ES modules that import { request } from 'node:http' see the wrapped functions too.
  syncBuiltinESMExports();
}

/** Stops it: the servers and clients are as they were (if nothing wrapped them after Distlog). */
export function releaseHttp(): void {
  if (!restore) return;
  for (const undo of restore.reverse()) undo();
  restore = undefined;
  syncBuiltinESMExports();
}

function wrapEmit(proto: Record<string, unknown>): () => void {
  const own = Object.prototype.hasOwnProperty.call(proto, 'emit');
  const inner = proto.emit as Emit;
  const emit: Emit = function (this: unknown, event, ...args) {
    if (event !== 'request') return inner.call(this, event, ...args);
    const [req, res] = args as [IncomingMessage, ServerResponse];
    if (inRequestScope(req) || instrumentedElsewhere(inner, proto.emit) || servedByScopedHandler(this))
      return inner.call(this, event, ...args);
    return serveInScope(req, res, () => inner.call(this, event, ...args));
  };
  markWrapped(emit);
  proto.emit = emit;
  return () => {
    if (proto.emit !== emit) return; // wrapped again since: leave that alone
    if (own) proto.emit = inner;
    else delete proto.emit;
  };
}

/** `http.createServer(scopedHandler(fn, { name, attributes }))`: its own scope, as the app asked for it. */
function servedByScopedHandler(server: unknown): boolean {
  const listeners = (server as EventEmitter).listeners?.('request') ?? [];
  return listeners.some(isScopedHandler);
}

function wrapRequests(mod: Record<string, unknown>): () => void {
  const request = mod.request as Request;
  const get = mod.get as Request;
  const tracedRequest: Request = function (this: unknown, ...args) {
    const req = request.apply(this, args);
    if (!instrumentedElsewhere(request, mod.request)) addTraceHeaders(req);
    return req;
  };
  // node's own get() calls its module's request, not the export: the same, through ours.
  const tracedGet: Request = function (this: unknown, ...args) {
    const req = tracedRequest.apply(this, args);
    req.end();
    return req;
  };
  markWrapped(tracedRequest);
  markWrapped(tracedGet);
  mod.request = tracedRequest;
  mod.get = tracedGet;
  return () => {
    if (mod.request === tracedRequest) mod.request = request;
    if (mod.get === tracedGet) mod.get = get;
  };
}

/** Headers can still be added until the request's head is written (on its first write or end). */
function addTraceHeaders(req: http.ClientRequest): void {
  if (req.headersSent || req.getHeader('traceparent') !== undefined) return;
  const headers = traceHeaders();
  if (!headers) return;
  try {
    for (const [key, value] of Object.entries(headers)) req.setHeader(key, value);
  } catch {
    // Headers given as an array are written at once: nothing to add to.
  }
}

/** undici (the global fetch): its request's headers are a flat [name, value, …] array, or one string in older versions. */
function onFetchRequest(message: unknown): void {
  const request = (message as { request?: { headers?: unknown; addHeader?: (k: string, v: string) => void } })
    .request;
  if (!request || typeof request.addHeader !== 'function') return;
  const sent = request.headers;
  const hasTraceparent = Array.isArray(sent)
    ? sent.some((v, i) => i % 2 === 0 && String(v).toLowerCase() === 'traceparent')
    : typeof sent === 'string' && /(^|\r\n)traceparent:/i.test(sent);
  if (hasTraceparent || otherFetchInjector()) return;
  const headers = traceHeaders();
  if (!headers) return;
  for (const [key, value] of Object.entries(headers)) request.addHeader(key, value);
}

/**
 * OpenTelemetry's undici instrumentation subscribed to the same channel (its handler is
 * `onRequestCreated`, bound): it adds its own `traceparent` to every fetch, after Distlog's
 * when it subscribed later, and two `traceparent` headers reach the server joined by a
 * comma, which no propagator reads — the trace broke there. Where it runs, it makes the
 * request spans and Distlog adds nothing (as with the http instrumentation above).
 * Read from the channel's subscriber list (`_subscribers`, Node 20–24); where a Node has
 * none, Distlog adds its header as before.
 */
function otherFetchInjector(): boolean {
  const subscribers = (fetchChannel as unknown as { _subscribers?: unknown })._subscribers;
  if (!Array.isArray(subscribers)) return false;
  for (const fn of subscribers)
    if (fn !== onFetchRequest && typeof fn === 'function' && /onRequestCreated$/.test(fn.name)) return true;
  return false;
}

const fetchChannel = diagnosticsChannel.channel('undici:request:create');

/** The active scope's headers; none outside a scope or where tracing is suppressed (an exporter's own requests). */
export function traceHeaders(): Record<string, string> | undefined {
  const active = context.active();
  if (isTracingSuppressed(active)) return undefined;
  const span = trace.getSpanContext(active);
  if (!span || !isSpanContextValid(span)) return undefined;
  const headers: Record<string, string> = {};
  propagation.inject(active, headers);
  return headers;
}

/**
 * Another instrumentation makes the request spans: one wrapped the same function before
 * Distlog (the function Distlog wraps is marked the way OpenTelemetry's instrumentations
 * mark theirs), or after it (the function in place now is such a wrapper, not Distlog's).
 */
export function instrumentedElsewhere(inner: unknown, current: unknown): boolean {
  return isForeignWrapper(inner) || isForeignWrapper(current);
}

function isForeignWrapper(fn: unknown): boolean {
  if (typeof fn !== 'function') return false;
  const marks = fn as unknown as { __wrapped?: unknown; __original?: unknown; [WRAPPED]?: unknown };
  return marks[WRAPPED] !== true && (marks.__wrapped === true || typeof marks.__original === 'function');
}

/** A function Distlog put in place (markWrapped). */
export function isDistlogWrapper(fn: unknown): boolean {
  return typeof fn === 'function' && (fn as unknown as Record<symbol, unknown>)[WRAPPED] === true;
}

export function markWrapped(fn: unknown): void {
  Object.defineProperty(fn, WRAPPED, { value: true });
}
