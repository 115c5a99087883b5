import build from 'pino-abstract-transport';
import { init } from '../init';
import { DistlogOptions } from '../config';
import { createPinoEmitter } from './emit';

/**
 * The pino transport: `pino({ transport: { target: '@distlog/sdk/pino', options } })`.
 * It runs in pino's worker thread with its own LoggerProvider and exporter (options
 * as for init(), OTEL_* variables otherwise). Trace context arrives in each line
 * from the SDK's mixin in the app's thread and goes into the record's trace fields.
 */
async function distlogTransport(options: DistlogOptions = {}) {
  const distlog = init({ ...options, tracing: false, exitHooks: false, levelControl: false });
  return build(
    async (
      source: AsyncIterable<Record<string, unknown>> & { levels?: { labels: Record<number, string> } },
    ) => {
      const emit = createPinoEmitter({
        loggerProvider: distlog.loggerProvider,
        levelLabels: source.levels?.labels,
      });
      for await (const line of source) emit(line);
    },
    {
      expectPinoConfig: true,
      close: async () => {
        await distlog.shutdown();
      },
    },
  );
}

export = distlogTransport;
