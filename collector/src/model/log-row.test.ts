import fc from 'fast-check';
import { makeRow, secondsOfNanosLE, timeSecondsOf } from './log-row';

describe('times in whole seconds without a BigInt', () => {
  it('secondsOfNanosLE equals the BigInt division for any 64-bit nanoseconds (property)', () => {
    const at = 3;
    fc.assert(
      fc.property(
        fc.oneof(
          fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
          // Near whole seconds, where an inexact sum would round to the wrong side.
          fc.bigInt({ min: 0n, max: 18_446_744_072n }).chain((s) =>
            fc.integer({ min: -2, max: 2 }).map((d) => {
              const n = s * 1_000_000_000n + BigInt(d);
              return n < 0n ? 0n : n > 2n ** 64n - 1n ? 2n ** 64n - 1n : n;
            }),
          ),
        ),
        (nanos) => {
          const buf = Buffer.alloc(16, 0xee);
          buf.writeBigUInt64LE(nanos, at);
          expect(secondsOfNanosLE(buf, at)).toBe(Number(nanos / 1_000_000_000n));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('timeSecondsOf reads a row’s time, or the seconds the decoder gave it', () => {
    const row = makeRow({ timeUnixNano: 1_764_000_000_999_999_999n });
    expect(timeSecondsOf(row)).toBe(1_764_000_000);
    expect(timeSecondsOf({ ...row, timeSeconds: 5 })).toBe(5);
  });
});
