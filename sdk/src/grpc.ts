import Module from 'node:module';
import type { EventEmitter } from 'node:events';
import { context } from '@opentelemetry/api';
import { extractTraceContext } from './propagation';
import { openScope } from './scope';
import { instrumentedElsewhere, isDistlogWrapper, markWrapped, traceHeaders } from './http';
import { sayOnStderr } from './internal/say';

/**
 * gRPC calls followed across services with no code, as HTTP requests are (http.ts), for
 * `@grpc/grpc-js` — every copy in the process, loaded before init() or after it:
 *
 * - Served: each call a grpc-js server answers runs in a scope that continues the caller's
 *   `traceparent` (from the call's metadata), named as OpenTelemetry names RPC spans —
 *   `shop.Orders/Get` — with `rpc.system`, `rpc.service`, `rpc.method` on its start and end
 *   records and `rpc.grpc.status_code` on its end record; a status other than OK ends it
 *   failed. Records logged in the handler, in what it awaits and in the call's event
 *   handlers (a stream's `data`) carry the scope. `Server.prototype.register` is wrapped
 *   (addService calls it), and `bindAsync` takes in services a server had before init().
 * - Made: each call a grpc-js client starts carries the current scope's `traceparent`,
 *   `tracestate` and `baggage` in its metadata (a copy: the app's Metadata object is not
 *   changed), unless the caller set a `traceparent`; a unary or client-streaming call's
 *   callback runs in the caller's scope. The clients' argument checks
 *   (`checkOptionalUnaryResponseArguments`, `checkMetadataAndOptions`, which every call of
 *   every client runs, generated ones too) are wrapped: the call methods themselves are
 *   copied into generated clients when grpc-js loads, so wrapping them would miss those.
 *
 * Where OpenTelemetry's grpc instrumentation wraps the same functions (before or after
 * Distlog), it makes the spans and Distlog adds neither a scope nor metadata. A grpc-js whose
 * functions are not where this expects them is said once on stderr.
 */

interface MetadataLike {
  get(key: string): unknown[];
  set(key: string, value: string): void;
  clone(): MetadataLike;
}

interface GrpcExports {
  Server: { prototype: Record<string, unknown> };
  Client: { prototype: Record<string, unknown> };
  Metadata: new () => MetadataLike;
}

type Handler = (
  this: unknown,
  call: EventEmitter & { metadata?: MetadataLike },
  ...rest: unknown[]
) => unknown;
type Callback = (...args: unknown[]) => unknown;

/** The copies of grpc-js wrapped now (by their Server.prototype): none again after releaseGrpc(). */
let patched = new WeakSet<object>();
let capturing = false;
let originalLoad: ((request: string, ...rest: unknown[]) => unknown) | undefined;
let loadHook: typeof originalLoad;
const undo: Array<() => void> = [];
let oddSaid = false;

/** Starts following gRPC calls in and out (idempotent). */
export function captureGrpc(): void {
  if (capturing) return;
  capturing = true;
  for (const cached of Object.values(require.cache)) if (cached) patchGrpc(cached.exports);
  const mod = Module as unknown as { _load: NonNullable<typeof originalLoad> };
  const load = (originalLoad = mod._load);
  loadHook = function (this: unknown, ...args: [string, ...unknown[]]) {
    const exports = load.apply(this, args);
    if (capturing) patchGrpc(exports);
    return exports;
  };
  mod._load = loadHook;
}

/** Stops it: servers and clients work as they did before (unless something wrapped them after Distlog). */
export function releaseGrpc(): void {
  if (!capturing) return;
  capturing = false;
  // Put back unless another hook was put over this one since (it calls this one: it stays, idle).
  const mod = Module as unknown as { _load: unknown };
  if (originalLoad && mod._load === loadHook) mod._load = originalLoad;
  originalLoad = loadHook = undefined;
  for (const f of undo.splice(0).reverse()) f();
  patched = new WeakSet<object>();
}

function looksLikeGrpc(exports: unknown): exports is GrpcExports {
  const e = exports as Partial<Record<string, unknown>> | undefined;
  return (
    !!e &&
    typeof e === 'object' &&
    typeof e.Server === 'function' &&
    typeof e.Client === 'function' &&
    typeof e.Metadata === 'function' &&
    typeof e.makeGenericClientConstructor === 'function'
  );
}

/** Wraps one copy of grpc-js (once): the exports object is shared by every importer of that copy. */
function patchGrpc(exports: unknown): void {
  if (!looksLikeGrpc(exports) || patched.has(exports.Server.prototype)) return;
  patched.add(exports.Server.prototype);
  const server = exports.Server.prototype;
  const client = exports.Client.prototype;
  const missing = [
    typeof server.register !== 'function' && 'Server.prototype.register',
    typeof client.checkOptionalUnaryResponseArguments !== 'function' &&
      'Client.prototype.checkOptionalUnaryResponseArguments',
    typeof client.checkMetadataAndOptions !== 'function' && 'Client.prototype.checkMetadataAndOptions',
  ].filter(Boolean);
  if (missing.length > 0 && !oddSaid) {
    oddSaid = true;
    sayOnStderr(
      `distlog: this @grpc/grpc-js has no ${missing.join(', ')}; its calls are followed only in part ` +
        '(no scope per served call, or no trace context sent). Please report the grpc-js version.\n',
    );
  }
  if (typeof server.register === 'function') {
    const inner = wrapRegister(server);
    if (typeof server.bindAsync === 'function') wrapBindAsync(server, inner);
  }
  if (typeof client.checkOptionalUnaryResponseArguments === 'function')
    wrapArgumentCheck(client, 'checkOptionalUnaryResponseArguments', exports.Metadata);
  if (typeof client.checkMetadataAndOptions === 'function')
    wrapArgumentCheck(client, 'checkMetadataAndOptions', exports.Metadata);
}

type Register = (this: unknown, name: string, handler: Handler, ...rest: unknown[]) => unknown;

/** Wraps `register`; returns the function it wrapped. */
function wrapRegister(proto: Record<string, unknown>): Register {
  const inner = proto.register as Register;
  const register: Register = function (this: unknown, name, handler, ...rest) {
    const type = rest[2];
    if (typeof handler !== 'function' || instrumentedElsewhere(inner, proto.register))
      return inner.call(this, name, handler, ...rest);
    return inner.call(this, name, servedInScope(name, handler, type), ...rest);
  };
  markWrapped(register);
  proto.register = register;
  undo.push(() => {
    if (proto.register === register) proto.register = inner;
  });
  return inner;
}

interface HandlerEntry {
  func?: unknown;
  type?: unknown;
  path?: unknown;
}

/**
 * `bindAsync` (how a server starts serving) first takes in the services added before
 * Distlog wrapped `register` — a server made before init() ran — from grpc-js's table of
 * handlers (`handlers`: path → { func, type }). Where that table is not there, said once.
 */
function wrapBindAsync(proto: Record<string, unknown>, innerRegister: Register): void {
  const inner = proto.bindAsync as (this: unknown, ...args: unknown[]) => unknown;
  const bindAsync = function (this: unknown, ...args: unknown[]) {
    if (!instrumentedElsewhere(innerRegister, proto.register)) followEarlierServices(this);
    return inner.apply(this, args);
  };
  markWrapped(bindAsync);
  proto.bindAsync = bindAsync;
  undo.push(() => {
    if (proto.bindAsync === bindAsync) proto.bindAsync = inner;
  });
}

let earlierSaid = false;

function followEarlierServices(server: unknown): void {
  const handlers = (server as { handlers?: unknown } | null)?.handlers;
  if (!(handlers instanceof Map)) {
    if (!earlierSaid) {
      earlierSaid = true;
      sayOnStderr(
        'distlog: cannot tell whether this gRPC server has services added before init() (this @grpc/grpc-js ' +
          'keeps them elsewhere); calls to those are not followed. Load Distlog first (node -r @distlog/sdk/register).\n',
      );
    }
    return;
  }
  for (const [path, entry] of handlers as Map<unknown, HandlerEntry>) {
    if (!entry || typeof entry.func !== 'function' || isDistlogWrapper(entry.func)) continue;
    entry.func = servedInScope(String(entry.path ?? path), entry.func as Handler, entry.type);
  }
}

/** `/shop.Orders/Get` → the scope's name `shop.Orders/Get` and its rpc.* attributes. */
function rpcOf(path: string): { name: string; service: string; method: string } {
  const name = path.startsWith('/') ? path.slice(1) : path;
  const slash = name.lastIndexOf('/');
  return {
    name,
    service: slash < 0 ? '' : name.slice(0, slash),
    method: slash < 0 ? name : name.slice(slash + 1),
  };
}

/** gRPC's status codes by number (for the message of a failed scope). */
const STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]; // prettier-ignore

/** Marks a scope whose call ended with a gRPC status other than OK. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    details?: string,
  ) {
    super(`answered with gRPC status ${STATUS_NAMES[code] ?? code}${details ? `: ${details}` : ''}`);
    this.name = 'GrpcStatusError';
  }
}

/** The status a handler's error answers with: its `code` when it is a gRPC status, else UNKNOWN (2). */
function statusOf(err: unknown): number {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16 ? code : 2;
}

/** A handler that runs `handler` in the call's scope and ends the scope with the call. */
function servedInScope(path: string, handler: Handler, type: unknown): Handler {
  const rpc = rpcOf(path);
  const own = { 'rpc.system': 'grpc', 'rpc.service': rpc.service, 'rpc.method': rpc.method };
  const withCallback = type === 'unary' || type === 'clientStream';
  const requestStream = type === 'clientStream' || type === 'bidi';
  const served: Handler = function (this: unknown, call, ...rest) {
    let parent = context.active();
    try {
      if (call?.metadata) parent = extractTraceContext(traceCarrier(call.metadata));
    } catch {
      // Metadata that cannot be read: the call starts a trace of its own.
    }
    const opened = openScope(rpc.name, {}, parent, own);
    // The first end counts: grpc-js also tells a call that ended well it was cancelled (its
    // stream closing), so nothing is made for the later ones (an error's stack is not cheap).
    let ended = false;
    const end = (err: unknown, code = err === undefined || err === null ? 0 : statusOf(err)) => {
      if (ended) return;
      ended = true;
      opened.end(
        code === 0 ? undefined : err instanceof Error ? err : new GrpcStatusError(code, detailsOf(err)),
        { 'rpc.grpc.status_code': code },
      );
    };
    if (call && typeof call.on === 'function') {
      // A request stream's events (data, end) run in the call's scope too; a unary or
      // server-streaming call has its request before the handler runs.
      if (requestStream) context.bind(opened.context, call);
      endWithStream(call, end, withCallback);
    }
    if (withCallback && typeof rest[0] === 'function') {
      const callback = rest[0] as Callback;
      rest[0] = function (this: unknown, err: unknown, ...more: unknown[]) {
        end(err);
        return callback.call(this, err, ...more);
      };
    }
    let returned = false;
    try {
      const result = context.with(opened.context, () => handler.call(this, call, ...rest));
      returned = true;
      return result;
    } finally {
      // Thrown, not caught here: grpc-js answers the call as it would without Distlog.
      if (!returned) end(new Error('the call handler threw'), 2);
    }
  };
  markWrapped(served);
  return served;
}

/** The W3C headers among a call's metadata (not the whole map: this runs for every call). */
function traceCarrier(metadata: MetadataLike): Record<string, string | undefined> {
  const first = (key: string) => {
    const value = metadata.get(key)[0];
    return typeof value === 'string' ? value : undefined;
  };
  return { traceparent: first('traceparent'), tracestate: first('tracestate'), baggage: first('baggage') };
}

function detailsOf(err: unknown): string | undefined {
  const e = err as { details?: unknown; message?: unknown } | null | undefined;
  const text = e?.details ?? e?.message;
  return typeof text === 'string' && text !== '' ? text : undefined;
}

/**
 * A server stream's end: OK when it finished, its error's status when it failed, CANCELLED
 * when the client went away. Unary and client-streaming calls end with their callback; a
 * cancelled one may never call it.
 */
/** What a call the client cancelled ends with (one for all: `end` ignores it after another end). */
const CANCELLED = { code: 1, details: 'the client cancelled the call' };

function endWithStream(
  call: EventEmitter,
  end: (err: unknown, code?: number) => void,
  withCallback: boolean,
): void {
  call.once('cancelled', () => end(CANCELLED, 1));
  if (withCallback) return;
  call.once('finish', () => end(undefined));
  call.once('error', (err: unknown) => end(err));
}

type ArgumentCheck = (this: unknown, ...args: unknown[]) => { metadata?: unknown };

/** The client's argument check: the call's metadata gets the scope's headers. */
function wrapArgumentCheck(
  proto: Record<string, unknown>,
  key: string,
  Metadata: new () => MetadataLike,
): void {
  const inner = proto[key] as ArgumentCheck;
  const check: ArgumentCheck = function (this: unknown, ...args) {
    const checked = inner.apply(this, args);
    if (!checked || typeof checked !== 'object' || instrumentedElsewhere(inner, proto[key])) return checked;
    const headers = traceHeaders();
    if (!headers) return checked;
    const metadata = checked.metadata as MetadataLike | undefined;
    if (!(metadata instanceof Metadata) || metadata.get('traceparent').length > 0) return checked;
    // The app may send the same Metadata with other calls: a copy carries this call's context.
    const own = args.includes(metadata) ? metadata.clone() : metadata;
    for (const [name, value] of Object.entries(headers)) own.set(name, value);
    checked.metadata = own;
    return checked;
  };
  markWrapped(check);
  proto[key] = check;
  undo.push(() => {
    if (proto[key] === check) proto[key] = inner;
  });
}
