import { writeSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

/**
 * A line on stderr that gets there even when the process is about to end. In pino's
 * transport worker `process.stderr.write` hands the text to the app's thread, which at exit
 * is blocked waiting for the worker and then ends: what the worker said of its last flush —
 * records it could not send — was lost with it. There the line is written to fd 2 at once.
 */
export function sayOnStderr(text: string): void {
  if (!isMainThread) {
    try {
      writeSync(2, text);
      return;
    } catch {
      // fd 2 closed or non-blocking and full: the usual way.
    }
  }
  process.stderr.write(text);
}
