/**
 * The in-process destination's shortcut past `JSON.parse`: the object that parsing the line
 * pino just wrote would give, built from what pino tells a metadata stream about the call
 * (`lastObj`, `lastMsg`, `lastTime`, `lastLogger`; pino ≥ 7 sets them before each write on a
 * stream marked `Symbol.for('pino.metadata')`). Parsing the line back was the largest part
 * of the destination's own cost (~0.7 µs a call of ~4.7 µs in the bench's `turns`).
 *
 * The rule for when it is safe: the result must be exactly what `JSON.parse(line)` gives, so
 * the record cannot differ by the path it took. It is built only where pino's line is a plain
 * function of those values — anything pino transforms on the way out, or that JSON text
 * would change, and the line is parsed as before:
 *
 * - per logger (checked once, kept while its bindings stay the same): no `formatters.log`,
 *   no redaction (stringifiers), no `nestedKey`, no `streamWrite` hook; a level prefix and a
 *   time that parse (pino's own time functions: epoch, unix, ISO, none); bindings that parse;
 * - per call: the line ends as pino's plain `}` + newline (not a trace-context suffix); every
 *   own value of the call's object is a string, a boolean, a number (non-finite ones become
 *   null, as pino writes them; -0 becomes 0, as JSON does), null, a function or undefined
 *   (left out, as pino does); no key has a serializer (the error key included) or is
 *   `__proto__`; the message is a string, number, boolean, undefined or a function (left out).
 *
 * Objects, arrays, errors and dates in a call go the parsing way: their JSON text depends on
 * serializers, `toJSON` and pino's safe stringifier. The equality is checked over many
 * configurations and calls in call-line.test.ts. Binding values are parsed once per logger
 * and shared by its records (the SDK only reads record attributes).
 */
import { pinoSymbolsAlong } from './symbols';

/** What pino sets on a metadata stream before each write (pino/lib/proto.js `write`). */
export interface PinoMetadata {
  lastObj?: unknown;
  lastMsg?: unknown;
  lastTime?: unknown;
  lastLevel?: unknown;
  lastLogger?: unknown;
}

/** The symbols of one copy of pino, found by their descriptions (pino keeps most of them private). */
interface PinoSymbols {
  chindings: symbol;
  lsCache: symbol;
  time: symbol;
  timeSliceIndex: symbol;
  serializers: symbol;
  formatters: symbol;
  stringifiers: symbol;
  nestedKey: symbol;
  hooks: symbol;
  end: symbol;
  messageKey: symbol;
  errorKey: symbol;
}

const SYMBOL_NAMES: Record<keyof PinoSymbols, string> = {
  chindings: 'pino.chindings',
  lsCache: 'pino.lsCache',
  time: 'pino.time',
  timeSliceIndex: 'pino.timeSliceIndex',
  serializers: 'pino.serializers',
  formatters: 'pino.formatters',
  stringifiers: 'pino.stringifiers',
  nestedKey: 'pino.nestedKey',
  hooks: 'pino.hooks',
  end: 'pino.end',
  messageKey: 'pino.messageKey',
  errorKey: 'pino.errorKey',
};

type Entries = Array<[string, unknown]>;

/** How one logger's lines are built; `undefined` in the map: this logger's lines are parsed. */
interface Plan {
  symbols: PinoSymbols;
  /** The bindings text the entries below were parsed from (pino's `setBindings` replaces it). */
  chindings: string;
  bindings: Entries;
  /** The time's key; undefined: the line has no time. */
  timeKey: string | undefined;
  /** The time's JSON type in pino's text: a number or a plain string. */
  timeIsNumber: boolean;
  serializers: Record<string, unknown>;
  messageKey: string;
  errorKey: string;
  /** pino's level prefix (`{"level":30`) → its fields, per level number. */
  levels: Map<number, { text: string; entries: Entries } | undefined>;
}

// One copy of pino's symbols per copy of pino: keyed by the `child` method all its loggers share.
const symbolsByPino = new WeakMap<object, PinoSymbols | null>();
const plans = new WeakMap<object, Plan | null>();
let lastLogger: object | undefined;
let lastPlan: Plan | null = null;

function findSymbols(logger: object): PinoSymbols | null {
  const found = pinoSymbolsAlong(logger);
  const symbols = {} as PinoSymbols;
  for (const [key, name] of Object.entries(SYMBOL_NAMES) as Array<[keyof PinoSymbols, string]>) {
    const s = found.get(name);
    if (!s) return null;
    symbols[key] = s;
  }
  return symbols;
}

function pinoSymbols(logger: Record<PropertyKey, unknown>): PinoSymbols | null {
  const key = logger.child;
  if (typeof key !== 'function') return null;
  let symbols = symbolsByPino.get(key);
  if (symbols === undefined) symbolsByPino.set(key, (symbols = findSymbols(logger)));
  return symbols;
}

function parsedEntries(text: string): Entries | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const entries = Object.entries(value);
    return entries.some(([k]) => k === '__proto__') ? undefined : entries;
  } catch {
    return undefined;
  }
}

const TIME = /^,"([^"\\:]+)":(\d+|"[^"\\]*")$/;

interface TimeShape {
  key: string | undefined;
  isNumber: boolean;
}
// Per time function (pino's own, or the app's), judged once from a sample of its text.
const timeShapes = new WeakMap<object, TimeShape | null>();

/** How a logger's time function writes: its key and JSON type, or null when pino would slice it elsewhere. */
function timeOf(time: unknown, sliceIndex: unknown): TimeShape | null {
  if (typeof time !== 'function') return null;
  let shape = timeShapes.get(time);
  if (shape !== undefined) return shape;
  const sample: unknown = time();
  shape = null;
  if (sample === '') shape = { key: undefined, isNumber: false };
  else if (typeof sample === 'string') {
    const m = TIME.exec(sample);
    // pino keeps what follows the first colon (`timeSliceIndex`): it must be the value.
    if (m && m[1] !== '__proto__' && sample.slice(sliceIndex as number) === m[2])
      shape = { key: m[1], isNumber: m[2].charCodeAt(0) !== 34 /* " */ };
  }
  timeShapes.set(time, shape);
  return shape;
}

function makePlan(logger: Record<PropertyKey, unknown>): Plan | null {
  const symbols = pinoSymbols(logger);
  if (!symbols) return null;
  const formatters = logger[symbols.formatters] as { log?: unknown } | undefined;
  const stringifiers = logger[symbols.stringifiers] as object | undefined;
  const hooks = logger[symbols.hooks] as { streamWrite?: unknown } | undefined;
  const serializers = logger[symbols.serializers] as Record<string, unknown> | undefined;
  const chindings = logger[symbols.chindings];
  const messageKey = logger[symbols.messageKey];
  const errorKey = logger[symbols.errorKey];
  if (
    !formatters ||
    formatters.log !== undefined ||
    (stringifiers && Reflect.ownKeys(stringifiers).length > 0) ||
    logger[symbols.nestedKey] ||
    hooks?.streamWrite ||
    !serializers ||
    typeof chindings !== 'string' ||
    typeof messageKey !== 'string' ||
    typeof errorKey !== 'string' ||
    messageKey === '__proto__'
  )
    return null;
  const bindings = chindings === '' ? [] : parsedEntries(`{${chindings.slice(1)}}`);
  if (!bindings || (chindings !== '' && chindings.charCodeAt(0) !== 44) /* , */) return null;
  const time = timeOf(logger[symbols.time], logger[symbols.timeSliceIndex]);
  if (time === null) return null;
  return {
    symbols,
    chindings,
    bindings,
    timeKey: time.key,
    timeIsNumber: time.isNumber,
    serializers,
    messageKey,
    errorKey,
    levels: new Map(),
  };
}

function planOf(logger: Record<PropertyKey, unknown>): Plan | null {
  let plan = logger === lastLogger ? lastPlan : plans.get(logger);
  // A logger's bindings can be replaced (`setBindings`): the plan follows them.
  if (plan === undefined || (plan !== null && logger[plan.symbols.chindings] !== plan.chindings)) {
    plan = makePlan(logger);
    plans.set(logger, plan);
  }
  lastLogger = logger;
  lastPlan = plan;
  return plan;
}

function levelEntries(plan: Plan, logger: Record<PropertyKey, unknown>, level: number): Entries | undefined {
  const text = (logger[plan.symbols.lsCache] as Record<number, unknown> | undefined)?.[level];
  if (typeof text !== 'string') return undefined;
  let cached = plan.levels.get(level);
  if (cached === undefined || cached.text !== text) {
    const entries = parsedEntries(text + '}');
    cached = entries ? { text, entries } : undefined;
    if (plan.levels.size < 64) plan.levels.set(level, cached);
  }
  return cached?.entries;
}

function isDigits(text: string): boolean {
  if (text.length === 0 || text.length > 15) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * The line of the call pino just made, as `JSON.parse` would give it, or undefined when it
 * must be parsed (see the rule above). Reads the stream's metadata once: a later write that
 * pino did not announce (someone else's) finds none and is parsed.
 */
export function lineOfCall(stream: PinoMetadata): Record<string, unknown> | undefined {
  const obj = stream.lastObj;
  const logger = stream.lastLogger;
  stream.lastObj = undefined;
  if (typeof obj !== 'object' || obj === null || typeof logger !== 'object' || logger === null)
    return undefined;
  const level = stream.lastLevel;
  const lastTime = stream.lastTime;
  if (typeof level !== 'number' || typeof lastTime !== 'string') return undefined;
  const pinoLogger = logger as Record<PropertyKey, unknown>;
  const plan = planOf(pinoLogger);
  if (plan === null) return undefined;
  const end = pinoLogger[plan.symbols.end];
  if (end !== '}\n' && end !== '}\r\n') return undefined;
  const levels = levelEntries(plan, pinoLogger, level);
  if (!levels) return undefined;

  const line: Record<string, unknown> = {};
  for (let i = 0; i < levels.length; i++) line[levels[i][0]] = levels[i][1];
  if (plan.timeKey !== undefined) {
    if (plan.timeIsNumber) {
      if (!isDigits(lastTime)) return undefined;
      line[plan.timeKey] = Number(lastTime);
    } else {
      if (lastTime.length < 2 || lastTime.charCodeAt(0) !== 34 || lastTime.indexOf('\\') >= 0)
        return undefined;
      line[plan.timeKey] = lastTime.slice(1, -1);
    }
  } else if (lastTime !== '') return undefined;
  const bindings = plan.bindings;
  for (let i = 0; i < bindings.length; i++) line[bindings[i][0]] = bindings[i][1];

  const serializers = plan.serializers;
  const call = obj as Record<string, unknown>;
  for (const key in call) {
    if (!Object.hasOwn(call, key)) continue;
    const value = call[key];
    if (value === undefined) continue;
    if (serializers[key] || (key === plan.errorKey && serializers.err) || key === '__proto__')
      return undefined;
    switch (typeof value) {
      case 'string':
      case 'boolean':
        line[key] = value;
        break;
      case 'number':
        line[key] = Number.isFinite(value) ? value + 0 : null; // -0 + 0 is 0, as in JSON
        break;
      case 'function':
        break;
      case 'object':
        if (value !== null) return undefined;
        line[key] = null;
        break;
      default:
        return undefined; // bigint, symbol: pino's stringifier decides
    }
  }
  const msg = stream.lastMsg;
  if (msg !== undefined) {
    if (serializers[plan.messageKey]) return undefined;
    switch (typeof msg) {
      case 'string':
      case 'boolean':
        line[plan.messageKey] = msg;
        break;
      case 'number':
        line[plan.messageKey] = Number.isFinite(msg) ? msg + 0 : null;
        break;
      case 'function':
        break;
      default:
        return undefined;
    }
  }
  return line;
}
