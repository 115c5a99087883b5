// The destination's shortcut (call-line.ts) must give exactly what parsing pino's line gives:
// checked with real pino over many logger configurations and calls, and that it is taken
// where it is meant to be (the equality alone would also hold if it were never taken).
import pino from 'pino';
import type { Logger, LoggerOptions } from 'pino';
import { lineOfCall } from './call-line';
import { distlogDestination } from './destination';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { parsePinoLine } from './parse-line';
import * as parseLine from './parse-line';

interface Seen {
  line: string;
  fast: Record<string, unknown> | undefined;
  parsed: unknown;
}

function metadataStream() {
  const seen: Seen[] = [];
  const stream = {
    [Symbol.for('pino.metadata')]: true,
    lastObj: undefined as unknown,
    write(line: string) {
      seen.push({ line, fast: lineOfCall(stream), parsed: parsePinoLine(line) });
      return true;
    },
  };
  return { stream, seen };
}

const ownProto = JSON.parse('{"__proto__":1,"a":2}') as object;

/** Calls whose lines the shortcut builds under a logger that allows it. */
const PLAIN_CALLS: Array<[string, (l: Logger) => void]> = [
  ['a message only', (l) => l.info('request handled')],
  ['no message', (l) => l.info({ a: 1 })],
  ['nothing', (l) => l.info({})],
  [
    'every plain kind of value',
    (l) =>
      l.info(
        {
          s: 'x',
          n: 1.5,
          i: -3,
          t: true,
          f: false,
          z: null,
          u: undefined,
          fn: () => 1,
          nan: NaN,
          inf: -Infinity,
          neg: -0,
        },
        'kinds',
      ),
  ],
  ['interpolation', (l) => l.info({ a: 1 }, 'user %s did %d things %j', 'ada', 3, { x: 1 })],
  ['the message key in the object', (l) => l.info({ msg: 'inner', message: 'inner too' })],
  ['the message key in the object and a message', (l) => l.info({ msg: 'inner', message: 'inner' }, 'outer')],
  [
    'reserved names in the object',
    (l) => l.info({ level: 'x', time: 5, pid: 7, hostname: 'h', name: 'n' }, 'over'),
  ],
  ['integer-like keys', (l) => l.info({ z: 1, 10: 'ten', 2: 'two' }, 'order')],
  [
    'text JSON must escape',
    (l) => l.info({ s: 'quote " back \\ nl \n tab \t ls \u2028 lone \ud800 nul \u0000' }, 'é ✓ \u0001'),
  ],
  ['an array as the object', (l) => l.info(['a', 'b'] as unknown as object)],
  ['null object', (l) => l.info(null as unknown as object, 'null')],
  ['a number message', (l) => l.info({ a: 1 }, 42 as unknown as string)],
  [
    'warn, error, debug, trace, fatal',
    (l) => (l.warn('w'), l.error('e'), l.debug('d'), l.trace('t'), l.fatal('f')),
  ],
  [
    'huge and tiny numbers',
    (l) => l.info({ big: 1e21, tiny: 5e-324, max: Number.MAX_SAFE_INTEGER + 2 }, 'n'),
  ],
];

/** Calls that go the parsing way (values whose JSON text is pino's stringifier's or a serializer's). */
const PARSED_CALLS: Array<[string, (l: Logger) => void]> = [
  ['a nested object', (l) => l.info({ nested: { a: 1, d: new Date(0) } }, 'nested')],
  ['an array value', (l) => l.info({ list: [1, 'two'] })],
  ['an error', (l) => l.info(new Error('boom'))],
  ['an error under err', (l) => l.error({ err: new Error('x') }, 'failed')],
  ['a date', (l) => l.info({ at: new Date(0) })],
  ['a bigint', (l) => l.info({ big: 10n })],
  ['an own __proto__ key', (l) => l.info(ownProto)],
  ['an object message', (l) => l.info({}, { not: 'a string' } as unknown as string)],
  ['a null message', (l) => l.info({ a: 1 }, null as unknown as string)],
];

function run(options: LoggerOptions, make: (root: Logger) => Logger = (root) => root) {
  const { stream, seen } = metadataStream();
  const logger = make(pino({ level: 'trace', ...options }, stream));
  const plain = PLAIN_CALLS.map(([name, call]) => {
    const before = seen.length;
    call(logger);
    return { name, lines: seen.slice(before) };
  });
  const parsed = PARSED_CALLS.map(([name, call]) => {
    const before = seen.length;
    call(logger);
    return { name, lines: seen.slice(before) };
  });
  return { plain, parsed, seen };
}

function expectSame(seen: Seen[]): void {
  for (const { line, fast, parsed } of seen) {
    if (fast === undefined) continue;
    // Values (Object.is: -0 is not 0) and key order both.
    expect({ line, value: fast }).toStrictEqual({ line, value: parsed });
    expect(Object.keys(fast)).toEqual(Object.keys(parsed as object));
  }
}

// Every row has its third element: jest would take a missing one for its `done` callback.
const FAST_CONFIGS: Array<[string, LoggerOptions, ((root: Logger) => Logger) | null]> = [
  ['pino defaults', {}, null],
  ['a name and a base', { name: 'svc', base: { env: 'prod', n: 1, pid: 9, deep: { a: [1] } } }, null],
  ['no base', { base: null }, null],
  ['a child named by module', {}, (root) => root.child({ module: 'db', extra: { a: 1 } })],
  [
    'a grandchild repeating a key',
    {},
    (root) => root.child({ k: 1, name: 'a' }).child({ k: 2, logger: 'b' }),
  ],
  ['other message and error keys', { messageKey: 'message', errorKey: 'error' }, null],
  ['custom levels', { customLevels: { audit: 35 } }, null],
  ['a level formatter writing labels', { formatters: { level: (label) => ({ level: label }) } }, null],
  [
    'a level formatter writing severity',
    { formatters: { level: (label) => ({ severity: label.toUpperCase(), lvl: { x: 1 } }) } },
    null,
  ],
  ['a bindings formatter', { formatters: { bindings: (b) => ({ host: b.hostname, tag: 't' }) } }, null],
  ['ISO times', { timestamp: pino.stdTimeFunctions.isoTime }, null],
  ['unix times', { timestamp: pino.stdTimeFunctions.unixTime }, null],
  ['no time', { timestamp: false }, null],
  ['a time function of its own', { timestamp: () => `,"ts":${Date.now()}` }, null],
  ['a mixin', { mixin: () => ({ fromMixin: 1, msg: 'mixed' }) }, null],
  ['a message prefix', { msgPrefix: '[svc] ' }, null],
  ['CRLF line ends', { crlf: true }, null],
  ['a serializer for a key not logged', { serializers: { other: () => 'x' } }, null],
  ['a binding named like the time', {}, (root) => root.child({ time: 'bound', level: 'debug' })],
  [
    'a level formatter writing a time',
    { formatters: { level: (label) => ({ level: label, time: 'early' }) } },
    null,
  ],
];

describe('the destination builds the line of a call without parsing it', () => {
  // pino makes some of PARSED_CALLS plain under these before the stream sees them (a mixin's
  // Object.assign drops an own __proto__ key; a prefix turns an object message into text).
  const REWRITING = new Set(['a mixin', 'a message prefix']);

  it.each(FAST_CONFIGS)('%s: built where plain, always equal to the parsed line', (config, options, make) => {
    const { plain, parsed, seen } = run(options, make ?? undefined);
    expectSame(seen);
    for (const { name, lines } of plain) {
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines)
        expect({ call: name, built: l.fast !== undefined }).toEqual({ call: name, built: true });
    }
    if (!REWRITING.has(config))
      for (const { name, lines } of parsed)
        for (const l of lines)
          expect({ call: name, built: l.fast !== undefined }).toEqual({ call: name, built: false });
  });

  const PARSED_CONFIGS: Array<[string, LoggerOptions]> = [
    ['a log formatter', { formatters: { log: (o) => ({ ...o, added: 1 }) } }],
    ['redaction', { redact: ['secret'] }],
    ['a nested key', { nestedKey: 'payload' }],
    ['a streamWrite hook', { hooks: { streamWrite: (s) => s.replace('request', 'REQUEST') } }],
    ['a time function pino slices elsewhere', { timestamp: () => ',"t:x":1' }],
  ];
  it.each(PARSED_CONFIGS)('%s: every line parsed', (_name, options) => {
    const { seen } = run(options);
    expect(seen.length).toBeGreaterThan(PLAIN_CALLS.length);
    expect(seen.filter((s) => s.fast !== undefined)).toEqual([]);
  });

  it('a serializer for a key in the call: that call parsed, the others built', () => {
    const { stream, seen } = metadataStream();
    const logger = pino({ serializers: { user: (u: { id: number }) => ({ id: u.id }) } }, stream);
    logger.info({ user: { id: 1, secret: 'x' } }, 'serialized');
    logger.info({ user: 'plain text' }, 'still serialized');
    logger.info({ other: 1 }, 'not');
    expect(seen.map((s) => s.fast !== undefined)).toEqual([false, false, true]);
    expectSame(seen);
  });

  it('follows a logger whose bindings change', () => {
    const { stream, seen } = metadataStream();
    const logger = pino({}, stream).child({ a: 1 });
    logger.info('first');
    logger.setBindings({ a: 2, b: 3 });
    logger.info('second');
    expect(seen.map((s) => s.fast?.a)).toEqual([1, 2]);
    expect(seen[1].fast?.b).toBe(3);
    expectSame(seen);
  });

  it('a write pino did not announce is parsed (no stale call taken for it)', () => {
    const { stream, seen } = metadataStream();
    pino({}, stream).info({ a: 1 }, 'from pino');
    stream.write('{"level":40,"msg":"from elsewhere"}\n');
    expect(seen[0].fast).toBeDefined();
    expect(seen[1].fast).toBeUndefined();
    expect(seen[1].parsed).toEqual({ level: 40, msg: 'from elsewhere' });
  });

  it('a line that ends with trace context is parsed', () => {
    const { stream, seen } = metadataStream();
    const logger = pino({}, stream);
    const end = Object.getOwnPropertySymbols(logger).find((s) => s.description === 'pino.end')!;
    Object.defineProperty(logger, end, { get: () => ',"trace_id":"ab","span_id":"cd","trace_flags":1}\n' });
    logger.info('with ids');
    expect(seen[0].fast).toBeUndefined();
    expect(seen[0].parsed).toMatchObject({ trace_id: 'ab', msg: 'with ids' });
  });

  it('through pino.multistream, which passes the metadata on', () => {
    const { stream, seen } = metadataStream();
    const logger = pino({}, pino.multistream([{ stream }]));
    logger.info({ a: 1 }, 'via multistream');
    expect(seen).toHaveLength(1);
    expect(seen[0].fast).toBeDefined();
    expectSame(seen);
  });
});

describe('the destination with and without the shortcut', () => {
  // The records the destination hands its export queue (the queue itself is not under test here).
  function records(fromCall: boolean, log: (l: Logger, stream: { write(line: string): boolean }) => void) {
    const queued: ReadableLogRecord[] = [];
    const distlog = { processor: { enqueue: (r: ReadableLogRecord) => queued.push(r) }, resource: {} };
    const stream = distlogDestination({ distlog: distlog as never, fromCall });
    log(pino({ level: 'debug', base: { env: 'test' } }, stream).child({ module: 'db' }), stream);
    return queued.map((r) => ({
      body: r.body,
      severity: r.severityText,
      n: r.severityNumber,
      scope: r.instrumentationScope.name,
      attributes: r.attributes,
    }));
  }

  const boom = new Error('boom'); // one stack for both runs
  const calls = (l: Logger) => {
    l.info({ user: 'ada', n: 1, ok: true, none: null }, 'plain %s', 'call');
    l.warn({ nested: { a: [1] } }, 'parsed');
    l.error(boom);
    l.debug('message only');
  };

  it('gives the same records either way, and parses only the lines it must', () => {
    const parses = jest.spyOn(parseLine, 'parsePinoLine');
    const built = records(true, calls);
    // The nested object and the error: the other two lines were built.
    expect(parses).toHaveBeenCalledTimes(2);
    expect(built).toHaveLength(4);
    expect(built[0]).toMatchObject({
      body: 'plain call',
      severity: 'INFO',
      scope: 'db',
      attributes: { env: 'test', user: 'ada' },
    });
    parses.mockClear();
    expect(built).toEqual(records(false, calls));
    expect(parses).toHaveBeenCalledTimes(4);
    parses.mockRestore();
  });

  it('a call whose object throws when read a second time is parsed, not lost', () => {
    let reads = 0;
    const tricky = Object.defineProperty({}, 'once', {
      enumerable: true,
      get: () => {
        if (++reads > 1) throw new Error('read twice');
        return 'first';
      },
    });
    const got = records(true, (l) => l.info(tricky, 'tricky'));
    expect(got.map((r) => [r.body, r.attributes.once])).toEqual([['tricky', 'first']]);
  });

  it("a write pino did not announce keeps its own level, not pino's last call's", () => {
    const got = records(true, (l, stream) => {
      l.warn('from pino');
      stream.write('{"level":30,"msg":"written by hand"}\n');
    });
    expect(got.map((r) => [r.body, r.severity])).toEqual([
      ['from pino', 'WARN'],
      ['written by hand', 'INFO'],
    ]);
  });
});
