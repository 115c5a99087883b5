/**
 * pino's transport stream (thread-stream) turns every line into a Buffer of its own as
 * it is written — an allocation and a UTF-8 encode per log call in the app's thread,
 * about a third of what a call to a transport costs here. For the Distlog transport's
 * stream the SDK gathers the lines of one event-loop turn into a single string
 * (appending to a string is cheap in V8) and hands that to the stream once: one
 * encode per turn, and the worker receives the same bytes in the same order.
 *
 * Nothing is held longer than the turn: the gathered text goes to the stream at the
 * next `setImmediate` (where thread-stream would have sent it to the worker anyway),
 * when it reaches `maxPendingChars`, and before the stream's own `flush`,
 * `flushSync` and `end` — which is what pino calls at exit.
 */
export interface CoalescableStream {
  write(data: string): boolean;
  flush?(cb?: (err?: Error | null) => void): void;
  flushSync?(): void;
  end?(): void;
}

/** Marks a stream whose writes are gathered (Symbol.for: visible to tests and to other SDK copies). */
export const COALESCED = Symbol.for('distlog.coalesced');
export const DEFAULT_MAX_PENDING_CHARS = 16 * 1024;

export function coalesceWrites(stream: CoalescableStream, maxPendingChars = DEFAULT_MAX_PENDING_CHARS): void {
  const target = stream as CoalescableStream & { [COALESCED]?: true };
  if (target[COALESCED]) return;
  target[COALESCED] = true;
  const write = stream.write;
  let pending = '';
  let scheduled = false;
  const push = () => {
    if (pending.length === 0) return;
    const text = pending;
    pending = '';
    write.call(stream, text);
  };
  const onImmediate = () => {
    scheduled = false;
    push();
  };
  stream.write = function coalescingWrite(data: string) {
    if (typeof data !== 'string') {
      // Not a pino line (a Buffer written by someone else): keep the order, pass it on.
      push();
      return write.call(stream, data);
    }
    pending += data;
    if (pending.length >= maxPendingChars) push();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(onImmediate);
    }
    return true;
  };
  for (const method of ['flush', 'flushSync', 'end'] as const) {
    const original = stream[method] as ((...args: unknown[]) => void) | undefined;
    if (typeof original !== 'function') continue;
    (stream as unknown as Record<string, unknown>)[method] = function (this: unknown, ...args: unknown[]) {
      push();
      return original.apply(stream, args);
    };
  }
}
