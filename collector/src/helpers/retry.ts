/** Exponential backoff with full jitter, shared by every sink. */
export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, initialDelayMs: 100, maxDelayMs: 2_000 };

export async function withRetry<T>(
  fn: () => Promise<T>,
  options: RetryOptions,
  onRetry?: (err: unknown, attempt: number) => void,
): Promise<T> {
  let delay = options.initialDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= options.attempts) throw err;
      onRetry?.(err, attempt);
      await new Promise((r) => setTimeout(r, Math.random() * delay));
      delay = Math.min(delay * 2, options.maxDelayMs);
    }
  }
}
