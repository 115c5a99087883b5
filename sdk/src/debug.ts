import Module from 'node:module';
import { format, stripVTControlCharacters } from 'node:util';
import { context, trace, isSpanContextValid } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { distlogLoggerProvider } from './internal/logger-provider';
import type { ScopeRef } from './internal/direct-record';
import { directRecord } from './internal/direct-record';
import { trackLogger } from './levels';
import { SET_HELD } from './levels/registry';
import { activeTraceId, hold, HELD_ATTRIBUTE } from './levels/hold';
import { scopeAttributes } from './scope';
import { getDistlog, init } from './init';

/**
 * Output of the `debug` package (express, router, body-parser, mongoose, ioredis,
 * socket.io, … log through it) as log records: each namespace is a logger (scope name =
 * the namespace), each line a DEBUG record with the caller's trace context and scope
 * attributes, its text formatted as `debug` formats it (%o, %O, %s, %d, %j and custom
 * formatters; no colours, no namespace prefix, no +ms).
 *
 * Every copy of `debug` in the process is found — the ones already loaded (in the
 * CommonJS module cache, which also holds those an ES module imported) and the ones
 * loaded later (a hook on Module._load) — and changed in place: its shared `enabled`,
 * `formatArgs`, `log` and `init` functions are wrapped, so instances libraries made before
 * the capture follow it too. Nothing is patched per call: a disabled namespace costs what
 * it cost before (debug caches `enabled` per instance until the settings change).
 *
 * Run-time levels: each namespace is a logger in the level registry, configured `debug`
 * when the DEBUG variable enables it and `silent` otherwise; a rule at `debug` or `trace`
 * turns it on, any other level off, and when the rule goes the DEBUG setting applies
 * again. Only namespaces that DEBUG enables are also written to stderr, as before.
 * debug 4.x (every current release) fully; 2.x/3.x (express 4 and its middleware use
 * 2.6.9) for the instances made after the capture (3.x: all, it lists them) — a 2.x copy
 * loaded before the capture is said once on stderr.
 */

/** The shape of what `require('debug')` returns (debug 4.x: src/common.js `createDebug`). */
interface CreateDebug {
  (namespace: string): unknown;
  enabled(name: string): boolean;
  formatArgs(this: DebugInstance, args: unknown[]): void;
  log(this: DebugInstance, ...args: unknown[]): void;
  init?(instance: DebugInstance): void;
  // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types -- see invalidate()
  namespaces: string | String;
  enable(namespaces: string): void;
  coerce?: unknown;
  humanize?: unknown;
  [PATCHED]?: true;
}

interface DebugInstance {
  namespace: string;
}

const PATCHED = Symbol.for('distlog.debug.patched');

/** One namespace under level control (held here: the registry keeps loggers weakly). */
class Namespace {
  private current: string;
  constructor(
    readonly name: string,
    readonly configured: string,
  ) {
    this.current = configured;
  }
  get level(): string {
    return this.current;
  }
  set level(level: string) {
    if (level === this.current) return;
    this.current = level;
    invalidateAll();
  }
  get on(): boolean {
    return this.current === 'debug' || this.current === 'trace';
  }
  /** Set by the registry for an onError rule: lines are held until the trace fails. */
  held = false;
  [SET_HELD](held: boolean): void {
    this.held = held;
  }
}

const namespaces = new Map<string, Namespace>();
const scopes = new Map<string, ScopeRef>();
const patched: CreateDebug[] = [];
let capturing = false;
let emitting = false;
let originalLoad: ((request: string, parent: unknown, isMain: boolean) => unknown) | undefined;
let oldCopySaid = false;

export function captureDebug(): void {
  if (capturing) return;
  capturing = true;
  if (!getDistlog()) init();
  for (const cached of Object.values(require.cache)) if (cached) patchExports(cached.exports, true);
  const moduleInternals = Module as unknown as { _load: NonNullable<typeof originalLoad> };
  originalLoad = moduleInternals._load;
  const load = originalLoad;
  moduleInternals._load = function (this: unknown, ...args: Parameters<typeof load>) {
    const exports = load.apply(this, args);
    if (capturing) patchExports(exports);
    return exports;
  };
}

/** Stops capturing: namespaces go back to the DEBUG setting, nothing is recorded. */
export function releaseDebug(): void {
  if (!capturing) return;
  capturing = false;
  if (originalLoad) (Module as unknown as { _load: typeof originalLoad })._load = originalLoad;
  originalLoad = undefined;
  invalidateAll();
}

function looksLikeDebug(value: unknown): value is CreateDebug {
  const f = value as Record<string, unknown> | undefined;
  return (
    typeof value === 'function' &&
    !!f &&
    typeof f.enable === 'function' &&
    typeof f.enabled === 'function' &&
    typeof f.formatArgs === 'function' &&
    typeof f.log === 'function' &&
    'humanize' in f
  );
}

function patchExports(exports: unknown, loadedBefore = false): void {
  if (!looksLikeDebug(exports) || exports[PATCHED]) return;
  const createDebug = exports;
  createDebug[PATCHED] = true;
  const { enabled, formatArgs, log, init: initInstance } = createDebug;
  const local = new Map<string, boolean>();
  const locallyEnabled = (name: string) => {
    let on = local.get(name);
    if (on === undefined) local.set(name, (on = enabled.call(createDebug, name)));
    return on;
  };
  createDebug.enable = new Proxy(createDebug.enable, {
    apply(target, self, args) {
      local.clear(); // DEBUG changed in code: the local setting is read again
      return Reflect.apply(target, self, args);
    },
  });
  createDebug.formatArgs = function (this: DebugInstance, args: unknown[]): void {
    if (!capturing) return formatArgs.call(this, args);
    record(this.namespace, args);
    // Colours, prefix and +ms only for what will be printed (see log below).
    if (locallyEnabled(this.namespace)) formatArgs.call(this, args);
  };
  createDebug.log = function (this: DebugInstance, ...args: unknown[]): void {
    // Written to stderr only where DEBUG asked for it; a rule alone only records.
    if (!capturing || locallyEnabled(this.namespace)) log.apply(this, args);
  };
  if (isCurrent(createDebug)) {
    // debug 4.x: instances ask createDebug.enabled() whenever `namespaces` changed.
    createDebug.enabled = function (name: string): boolean {
      if (!capturing) return enabled.call(this, name);
      return namespace(name, locallyEnabled(name)).on;
    };
    if (initInstance)
      createDebug.init = function (instance: DebugInstance): void {
        initInstance.call(this, instance);
        if (capturing) namespace(instance.namespace, locallyEnabled(instance.namespace));
      };
    patched.push(createDebug);
    invalidate(createDebug);
    return;
  }
  // debug 2.x/3.x: `enabled` is a plain property set when an instance is made (and, in 3.x,
  // by enable() on every instance in `instances`). Each instance made from now on — and each
  // one 3.x lists — gets an accessor instead: DEBUG's value, or the rule's while capturing.
  const follow = (instance: DebugInstance & { enabled?: boolean }) => {
    let localOn = instance.enabled === true;
    const ns = namespace(instance.namespace, localOn);
    Object.defineProperty(instance, 'enabled', {
      configurable: true,
      enumerable: true,
      get: () => (capturing ? ns.on : localOn),
      set: (value: boolean) => {
        localOn = value;
      },
    });
  };
  createDebug.init = function (instance: DebugInstance): void {
    initInstance?.call(this, instance);
    follow(instance);
  };
  const listed = (createDebug as { instances?: unknown }).instances;
  if (Array.isArray(listed)) for (const instance of listed) follow(instance as DebugInstance);
  else if (loadedBefore && !oldCopySaid) {
    oldCopySaid = true;
    process.stderr.write(
      'distlog: a debug 2.x copy was loaded before captureDebug(): namespaces it made already follow only DEBUG; start with -r @distlog/sdk/register and DISTLOG_CAPTURE_DEBUG=1 to capture them all\n',
    );
  }
}

/** debug 4.x defines `enabled` as an accessor that reads createDebug.enabled() when settings change. */
function isCurrent(createDebug: CreateDebug): boolean {
  if (typeof createDebug.coerce !== 'function' || !('namespaces' in createDebug)) return false;
  const probe = createDebug('distlog:probe') as { destroy?: () => void };
  const current = typeof Object.getOwnPropertyDescriptor(probe, 'enabled')?.get === 'function';
  // 3.x lists its instances: take the probe out. (4.x's destroy() only prints a deprecation.)
  if (!current) probe.destroy?.();
  return current;
}

function namespace(name: string, locallyOn: boolean): Namespace {
  let ns = namespaces.get(name);
  if (!ns) {
    namespaces.set(name, (ns = new Namespace(name, locallyOn ? 'debug' : 'silent')));
    trackLogger(ns, name);
  }
  return ns;
}

function record(name: string, args: unknown[]): void {
  if (emitting) return;
  emitting = true;
  try {
    const distlog = getDistlog();
    const body = stripVTControlCharacters(format(...args));
    const active = context.active();
    if (distlog && namespaces.get(name)?.held) {
      const sc = trace.getSpanContext(active);
      const at = Date.now();
      const attributes = { ...scopeAttributes(active), [HELD_ATTRIBUTE]: true };
      hold(activeTraceId(), () =>
        distlog.processor.enqueue(
          directRecord(
            { severityNumber: SeverityNumber.DEBUG, severityText: 'DEBUG', body, attributes, timestamp: at },
            sc,
            distlog.resource,
            scopeOf(name),
            Date.now(),
          ),
        ),
      );
      return;
    }
    if (distlog) {
      // Straight into Distlog's queue (as the pino fast path does): no Logger, no LogRecordImpl.
      const sc = trace.getSpanContext(active);
      const scope = scopeOf(name);
      distlog.processor.enqueue(
        directRecord(
          {
            severityNumber: SeverityNumber.DEBUG,
            severityText: 'DEBUG',
            body,
            attributes: { ...scopeAttributes(active) },
          },
          sc && isSpanContextValid(sc) ? sc : undefined,
          distlog.resource,
          scope,
          Date.now(),
        ),
      );
      return;
    }
    distlogLoggerProvider()
      .getLogger(name)
      .emit({
        severityNumber: SeverityNumber.DEBUG,
        severityText: 'DEBUG',
        body,
        attributes: { ...scopeAttributes(active) },
        context: active,
      });
  } catch {
    // Never let logging break the app.
  } finally {
    emitting = false;
  }
}

function scopeOf(name: string): ScopeRef {
  let scope = scopes.get(name);
  if (!scope) scopes.set(name, (scope = { name }));
  return scope;
}

/**
 * debug instances cache `enabled` until `createDebug.namespaces` changes (compared with
 * !==): a new String of the same text makes every instance of that copy ask again.
 */
function invalidate(createDebug: CreateDebug): void {
  createDebug.namespaces = new String(String(createDebug.namespaces ?? ''));
}

function invalidateAll(): void {
  for (const createDebug of patched) invalidate(createDebug);
}
