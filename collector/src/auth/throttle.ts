/**
 * Wrong secrets per client address — user tokens at the query server, ingest keys at
 * the collector: after `maxFailures` wrong ones within `windowMs` (counted from the
 * first), the address is refused — right secrets included, so the refusal tells
 * nothing — until the window is over. Secrets are long random strings, so this is not
 * what keeps them safe; it keeps a guesser from hammering the server and makes the
 * attempts visible (429s). Memory is bounded: past `maxAddresses` the oldest entries go.
 */
export interface ThrottleOptions {
  /** Default 10. */
  maxFailures?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Default 10 000. */
  maxAddresses?: number;
}

interface Entry {
  failures: number;
  since: number;
}

export class FailureThrottle {
  private readonly maxFailures: number;
  private readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly entries = new Map<string, Entry>();

  constructor(options: ThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
  }

  /** Whole seconds until `address` may try again; 0 when it may now. */
  retryAfterSeconds(address: string, now = Date.now()): number {
    const entry = this.current(address, now);
    if (!entry || entry.failures < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((entry.since + this.windowMs - now) / 1000));
  }

  fail(address: string, now = Date.now()): void {
    const entry = this.current(address, now);
    if (entry) {
      entry.failures++;
      return;
    }
    if (this.entries.size >= this.maxAddresses) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(address, { failures: 1, since: now });
  }

  private current(address: string, now: number): Entry | undefined {
    const entry = this.entries.get(address);
    if (entry && now - entry.since >= this.windowMs) {
      this.entries.delete(address);
      return undefined;
    }
    return entry;
  }
}

/** What a throttled client is told. */
export function throttledMessage(address: string, seconds: number): string {
  return `too many wrong keys or tokens from ${address}; try again in ${seconds} s`;
}
