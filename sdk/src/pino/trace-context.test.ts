import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { appendTraceContext, installTraceEnd } from './trace-context';
import { withTraceContext } from './factory';
import { createPinoEmitter } from './emit';
import { parsePinoLine } from './parse-line';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Distlog } from '../init';
import { runScope } from '../scope';
import { shutdown } from '../init';

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

// runScope() starts the SDK (its scope records wait in the export queue): stop it before
// the test environment goes, so no export runs after it.
afterAll(() => shutdown());

describe('appendTraceContext', () => {
  it('leaves lines logged outside a span unchanged', () => {
    const line = '{"level":30,"msg":"x"}\n';
    expect(appendTraceContext(line)).toBe(line);
  });

  it('adds the span ids to lines ending in \\n and \\r\\n, keeping them valid JSON', () => {
    trace.getTracer('t').startActiveSpan('s', (span) => {
      const { traceId, spanId } = span.spanContext();
      for (const end of ['\n', '\r\n']) {
        const out = appendTraceContext(`{"level":30,"msg":"x"}${end}`);
        expect(out.endsWith(`}${end}`)).toBe(true);
        expect(JSON.parse(out)).toEqual({
          level: 30,
          msg: 'x',
          trace_id: traceId,
          span_id: spanId,
          trace_flags: 1,
        });
      }
      span.end();
    });
  });
});

describe('withTraceContext', () => {
  it("wraps pino so a logger's lines carry the active scope and keeps the user's own streamWrite hook", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = withTraceContext(require('pino'));
    const lines: string[] = [];
    const logger = pino(
      { hooks: { streamWrite: (s: string) => s.replace('"msg"', '"message"') } },
      { write: (s: string) => lines.push(s) },
    ) as { info(o: object, m: string): void };
    await runScope('work', { tenant: 'acme' }, context.active(), async () => {
      logger.info({ a: 1 }, 'inside');
    });
    const parsed = JSON.parse(lines[0]);
    expect(parsed).toMatchObject({ a: 1, message: 'inside', tenant: 'acme' });
    expect(parsed.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(parsed.span_id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('children inherit it, crlf lines stay valid, lines outside a span carry no ids', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = withTraceContext(require('pino'));
    for (const crlf of [false, true]) {
      const lines: string[] = [];
      const logger = pino({ crlf }, { write: (s: string) => lines.push(s) }) as {
        info(m: string): void;
        child(b: object): { info(m: string): void };
      };
      logger.info('outside');
      const ids = trace.getTracer('t').startActiveSpan('s', (span) => {
        logger.info('inside');
        logger.child({ module: 'db' }).info('child');
        span.end();
        return span.spanContext();
      });
      for (const line of lines) expect(line.endsWith(crlf ? '}\r\n' : '}\n')).toBe(true);
      const [outside, inside, child] = lines.map((l) => JSON.parse(l));
      expect(outside.trace_id).toBeUndefined();
      expect(inside).toMatchObject({ msg: 'inside', trace_id: ids.traceId, span_id: ids.spanId });
      expect(child).toMatchObject({ msg: 'child', module: 'db', trace_id: ids.traceId, span_id: ids.spanId });
    }
  });

  it('sticky context: repeated spans leave the ids out, and the worker still puts every line in the right span', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino');
    const lines: string[] = [];
    // Two loggers writing into one stream (one transport shared): the context is the stream's.
    const stream = { write: (s: string) => lines.push(s) };
    const first = pino({}, stream);
    const second = pino({}, stream);
    expect(installTraceEnd(first, stream)).toBe(true);
    expect(installTraceEnd(second, stream)).toBe(true);
    let turn = 0;
    const logger = { info: (msg: string) => (turn++ % 2 ? second : first).info(msg) };
    const tracer = trace.getTracer('t');
    const expected: Array<string | undefined> = [];
    const log = (msg: string) => {
      logger.info(msg);
      expected.push(trace.getActiveSpan()?.spanContext().spanId);
    };
    log('outside 1');
    const a = tracer.startSpan('a');
    const b = tracer.startSpan('b');
    const inA = (fn: () => void) => context.with(trace.setSpan(context.active(), a), fn);
    inA(() => (log('a 1'), log('a 2'), log('a 3')));
    context.with(trace.setSpan(context.active(), b), () => log('b 1'));
    inA(() => log('a 4'));
    log('outside 2');
    log('outside 3');
    await runScope('with-attributes', { tenant: 'acme' }, trace.setSpan(context.active(), a), async () => {
      log('scoped 1');
      log('scoped 2');
    });
    inA(() => log('a 5'));
    await runScope('with-attributes', { tenant: 'acme' }, context.active(), async () => log('scoped 3'));
    log('outside 4');

    // Lines under the same span as the one before carry no ids.
    expect(lines.filter((l) => l.includes('"trace_id"')).length).toBeLessThan(lines.length - 4);
    // The worker's side: the transport's emitter, feeding a queue that only collects.
    const queued: Array<{
      spanContext?: { spanId: string };
      body?: unknown;
      attributes: Record<string, unknown>;
    }> = [];
    const collecting = {
      processor: { enqueue: (r: (typeof queued)[number]) => queued.push(r) },
      resource: resourceFromAttributes({}),
    } as unknown as Distlog;
    const emit = createPinoEmitter({ distlog: collecting });
    for (const line of lines) emit(JSON.parse(line));
    expect(queued.map((r) => r.spanContext?.spanId)).toEqual(expected);
    expect(queued.map((r) => r.body)).toEqual(lines.map((l) => JSON.parse(l).msg));
    for (const r of queued) expect(r.attributes.distlog_ctx).toBeUndefined();
  });

  it("a key the call or a child binding has too keeps the line's own value, not the scope's", async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino');
    const lines: string[] = [];
    const logger = pino({}, { write: (s: string) => lines.push(s) });
    expect(installTraceEnd(logger)).toBe(true);
    const child = logger.child({ orderId: 'from-child' });
    await runScope('checkout', { orderId: 'from-scope', tenant: 'acme' }, context.active(), async () => {
      logger.info({ orderId: 'from-call' }, 'call');
      child.info('child');
      child.info({ orderId: 'from-call' }, 'call in child');
      logger.info({ note: 'orderId: is text here' }, 'scope only');
    });
    // The line lists its scope's keys before them (what the worker needs to tell them apart).
    expect(lines[0]).toContain('"distlog_scope":["orderId","tenant"],"orderId":"from-scope"');
    const queued: Array<{ attributes: Record<string, unknown> }> = [];
    const collecting = {
      processor: { enqueue: (r: (typeof queued)[number]) => queued.push(r) },
      resource: resourceFromAttributes({}),
    } as unknown as Distlog;
    const emit = createPinoEmitter({ distlog: collecting });
    for (const line of lines) emit(parsePinoLine(line) as Record<string, unknown>);
    expect(queued.map((r) => [r.attributes.orderId, r.attributes.tenant])).toEqual([
      ['from-call', 'acme'],
      ['from-child', 'acme'],
      ['from-call', 'acme'],
      ['from-scope', 'acme'],
    ]);
    for (const r of queued) expect(r.attributes.distlog_scope).toBeUndefined();
  });
});
