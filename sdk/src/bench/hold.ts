// The cost of a held DEBUG record (an onError level rule) in the app's thread, against the
// same pino logger writing the same DEBUG line to a stream that throws it away (what the
// app pays for plain DEBUG before any export). Requests of 20 lines each, inside a span;
// every request ends well, so its hold is dropped (levels/hold.ts). Run by run.ts.
import { performance } from 'node:perf_hooks';
import { context, trace } from '@opentelemetry/api';
import pinoModule from 'pino';
import { getDistlog } from '../init';
import { initLocal } from '../testing/local';
import { LevelRegistry, setLevelRegistry } from '../levels';
import { discard, holdStats } from '../levels/hold';
import { withTraceContext } from '../pino/factory';

const CALLS = Number(process.env.BENCH_HOLD_CALLS ?? 400_000);
const PER_REQUEST = 20;
const ROUNDS = 5;

export function holdBench(): void {
  const registry = getDistlog() ? new LevelRegistry('bench', () => undefined) : initLocal('bench');
  setLevelRegistry(registry);
  const pino = withTraceContext(pinoModule as never) as unknown as typeof pinoModule;
  const sink = { write: () => undefined };
  const plain = pino({ name: 'plain', level: 'debug' }, sink);
  const held = pino({ name: 'held', level: 'info' }, sink);
  registry.setRules([
    {
      id: 'h',
      service: '*',
      logger: 'held',
      level: 'debug',
      onError: true,
      setBy: 'bench',
      setAt: new Date().toISOString(),
    },
  ]);
  const tracer = trace.getTracer('bench');
  const run = (logger: pinoModule.Logger) => {
    let total = 0;
    for (let done = 0; done < CALLS; done += PER_REQUEST) {
      const span = tracer.startSpan('request');
      const ctx = trace.setSpan(context.active(), span);
      const started = performance.now();
      context.with(ctx, () => {
        for (let i = 0; i < PER_REQUEST; i++) logger.debug({ step: i }, 'working on it');
      });
      total += performance.now() - started;
      discard(span.spanContext().traceId);
    }
    return (total * 1e6) / CALLS;
  };
  const results = { plain: [] as number[], held: [] as number[] };
  for (let round = 0; round < ROUNDS; round++) {
    results.plain.push(run(plain));
    results.held.push(run(held));
  }
  setLevelRegistry(undefined);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(results.plain);
  const cost = median(results.held);
  console.log(
    `\nonError rules: ${CALLS} pino.debug() calls in requests of ${PER_REQUEST} (${ROUNDS} rounds, medians)`,
  );
  console.table([
    { case: 'DEBUG written (to a stream that discards it)', 'ns/call': base.toFixed(0) },
    { case: 'DEBUG held (onError rule), dropped at request end', 'ns/call': cost.toFixed(0) },
  ]);
  console.log(
    `goal: a held DEBUG record ≤ 0.5 µs in the app thread: ${cost <= 500 ? 'met' : 'NOT met'} (${(cost / 1000).toFixed(2)} µs; ${(cost / base).toFixed(2)}× writing it); held in all ${holdStats().held}`,
  );
}
