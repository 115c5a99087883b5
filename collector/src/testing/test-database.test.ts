import { eventually } from './test-database';

describe('eventually', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(eventually(async () => (++n >= 3 ? n : 0), 2000, 10)).resolves.toBe(3);
  });

  it('fails naming what it waited for and the last value it saw', async () => {
    await expect(eventually(async () => ({ rows: 0 }).rows, 50, 10, 'rows to arrive')).rejects.toThrow(
      'waited 50 ms for: rows to arrive — it was still 0',
    );
    await expect(eventually(async () => [].length > 1, 50, 10)).rejects.toThrow(
      /^waited 50 ms for: async \(\) => \[\]\.length > 1 — it was still false$/,
    );
  });
});
