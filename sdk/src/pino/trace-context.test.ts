import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { appendTraceContext, withTraceContext } from './trace-context';
import { runScope } from '../scope';

beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

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
});
