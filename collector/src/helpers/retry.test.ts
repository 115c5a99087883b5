import { Backoff, withRetry } from './retry';

describe('Backoff', () => {
  it('doubles its delay up to the maximum, and a success starts again from the first', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 700 }, false);
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      100, 200, 400, 700, 700,
    ]);
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });

  it('with jitter, waits a random time up to the same ceilings', () => {
    const backoff = new Backoff({ initialDelayMs: 100, maxDelayMs: 400 });
    const delays = Array.from({ length: 200 }, (_, i) => {
      if (i % 4 === 0) backoff.reset();
      return [i % 4, backoff.next()] as const;
    });
    const ceiling = [100, 200, 400, 400];
    for (const [step, delay] of delays) {
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(ceiling[step]);
    }
    // Not always the ceiling (full jitter spreads retries of many clients apart).
    expect(new Set(delays.map(([, d]) => d)).size).toBeGreaterThan(100);
  });
});

describe('withRetry', () => {
  const fast = { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 };

  it('returns the first success and reports each failed attempt', async () => {
    let calls = 0;
    const retried: number[] = [];
    const value = await withRetry(
      async () => {
        if (++calls < 3) throw new Error(`failure ${calls}`);
        return 'stored';
      },
      fast,
      (_err, attempt) => retried.push(attempt),
    );
    expect(value).toBe('stored');
    expect(retried).toEqual([1, 2]);
  });

  it('throws the last error once every attempt failed, without retrying after it', async () => {
    let calls = 0;
    await expect(
      withRetry(async () => {
        throw new Error(`failure ${++calls}`);
      }, fast),
    ).rejects.toThrow('failure 3');
    expect(calls).toBe(3);
  });
});
