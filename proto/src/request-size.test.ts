import { refusedAsTooLarge } from './request-size';

describe('refusedAsTooLarge', () => {
  it('is HTTP 413, or gRPC RESOURCE_EXHAUSTED saying "larger than max" (in details or message)', () => {
    expect(refusedAsTooLarge({ code: 413 })).toBe(true);
    expect(
      refusedAsTooLarge({ code: 8, details: 'Received message larger than max (5000 vs. 4194304)' }),
    ).toBe(true);
    expect(
      refusedAsTooLarge({ code: 8, message: '8 RESOURCE_EXHAUSTED: grpc: received message larger than max' }),
    ).toBe(true);
  });

  it('is not throttling, other statuses, or errors without a code', () => {
    expect(refusedAsTooLarge({ code: 8, details: 'rate limit exceeded' })).toBe(false);
    expect(refusedAsTooLarge({ code: 429 })).toBe(false);
    expect(refusedAsTooLarge({ code: 14, details: 'larger than max' })).toBe(false);
    expect(refusedAsTooLarge({ message: 'larger than max' })).toBe(false);
  });
});
