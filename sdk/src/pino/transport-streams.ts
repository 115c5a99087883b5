import type { CoalescableStream } from './coalesce';
import { ownPinoSymbol } from './symbols';

export type TransportStream = CoalescableStream & {
  end: () => void;
  once: (e: string, f: () => void) => void;
};

/**
 * The worker streams of the loggers Distlog adopted, held until they close. pino ends
 * a transport at exit only while its stream is alive (its exit hook holds it weakly),
 * and thread-stream terminates the worker of a stream that is garbage-collected: a
 * logger made in a function that has returned could lose its last lines — those just
 * before the process exits — to a collection. Held here, they are flushed at exit, and
 * closePinoTransports() can end them before a signal ends the process.
 */
const transportStreams = new Set<TransportStream>();

export function holdTransportStream(logger: object): void {
  const stream = pinoStream(logger) as (Partial<TransportStream> & { worker?: unknown }) | undefined;
  if (!stream || transportStreams.has(stream as TransportStream)) return;
  if (!stream.worker || typeof stream.end !== 'function' || typeof stream.once !== 'function') return;
  transportStreams.add(stream as TransportStream);
  stream.once('close', () => transportStreams.delete(stream as TransportStream));
}

/**
 * Ends the transports of the loggers Distlog adopted; resolves when
 * their workers have closed, which flushes their exporters (the caller bounds the
 * wait). pino does this by itself at a normal exit, not when a signal ends the process.
 */
export async function closePinoTransports(): Promise<void> {
  const closing: Promise<unknown>[] = [];
  for (const stream of transportStreams) {
    closing.push(new Promise<void>((resolve) => stream.once('close', resolve)));
    stream.end();
  }
  transportStreams.clear();
  await Promise.all(closing);
}

/** The stream a logger writes to (pino keeps it under its `pino.stream` symbol). */
export function pinoStream(logger: object): CoalescableStream | undefined {
  const symbol = ownPinoSymbol(logger, 'pino.stream');
  return symbol ? ((logger as Record<symbol, unknown>)[symbol] as CoalescableStream | undefined) : undefined;
}
