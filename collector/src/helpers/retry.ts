/**
 * Exponential backoff with full jitter — the one used by every sink: table writers
 * retry an insert in place (withRetry), the spool replayer and the forward sinks keep
 * trying in the background (Backoff), each resetting on success.
 */
export interface RetryOptions {
  /** Attempts in all, the first included (withRetry). */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, initialDelayMs: 100, maxDelayMs: 2_000 };

/** The delays between attempts: each failure doubles the ceiling (up to maxDelayMs), a success resets it. */
export class Backoff {
  private ceilingMs: number;

  constructor(
    private readonly options: Pick<RetryOptions, 'initialDelayMs' | 'maxDelayMs'>,
    /** Full jitter (a random delay up to the ceiling); false: the ceiling itself, for steady retry loops. */
    private readonly jitter = true,
  ) {
    this.ceilingMs = options.initialDelayMs;
  }

  /** The delay before the next attempt, after a failure. */
  next(): number {
    const delay = this.jitter ? Math.random() * this.ceilingMs : this.ceilingMs;
    this.ceilingMs = Math.min(this.ceilingMs * 2, this.options.maxDelayMs);
    return delay;
  }

  reset(): void {
    this.ceilingMs = this.options.initialDelayMs;
  }
}

/** Runs `fn` until it succeeds or `options.attempts` are spent (then throws its last error). */
export async function withRetry<T>(
  fn: () => Promise<T>,
  options: RetryOptions,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<T> {
  const backoff = new Backoff(options);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts) throw err;
      onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, backoff.next()));
    }
  }
}
