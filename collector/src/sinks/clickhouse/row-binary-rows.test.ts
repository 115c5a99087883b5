import { makeRow } from '../../model/log-row';
import { LOG_COLUMNS, LOG_COLUMNS_WITHOUT_BATCH_ID, RowBinaryWriter } from './row-binary';
import { rowsOf } from './row-binary-rows';

describe('rowsOf: RowBinary rows read back to their ends and request ids', () => {
  const rows = (tag: string, n: number) =>
    Array.from({ length: n }, (_, i) =>
      makeRow({
        service: 'svc',
        body: `${tag} ${i} ${'é'.repeat(i * 40)}`, // multi-byte, and lengths over 127 (two-byte varints)
        attrs: { n: String(i), user: 'ada', long: 'x'.repeat(300 * i) },
        timeUnixNano: BigInt(Date.now()) * 1_000_000n + BigInt(i),
      }),
    );

  it.each([false, true])('finds every row of several requests (Timestamp as DateTime64: %s)', (timeNanos) => {
    const b = rows('b', 5);
    const w = new RowBinaryWriter(timeNanos, 77n);
    w.writeRows(rows('a', 3), 11n);
    w.writeRows(b, 22n);
    w.writeRows(rows('c', 1));
    const bytes = Buffer.from(w.bytes());
    const found = rowsOf(bytes, LOG_COLUMNS, timeNanos)!;
    expect(found.map((r) => r.requestId)).toEqual([11n, 11n, 11n, 22n, 22n, 22n, 22n, 22n, 0n]);
    // Back to back, from the first byte to the last.
    expect(found[0].start).toBe(0);
    for (let i = 1; i < found.length; i++) expect(found[i].start).toBe(found[i - 1].end);
    expect(found.at(-1)!.end).toBe(bytes.length);
    // A row's bytes are that row alone: written by itself, they are the same.
    const one = new RowBinaryWriter(timeNanos, 77n);
    one.writeRows([b[2]], 22n);
    expect(bytes.subarray(found[5].start, found[5].end).equals(Buffer.from(one.bytes()))).toBe(true);
  });

  it('says when the bytes end in the middle of a row, and knows nothing of rows without request ids', () => {
    const w = new RowBinaryWriter(false, 1n);
    w.writeRows(rows('d', 2), 5n);
    const bytes = Buffer.from(w.bytes());
    expect(() => rowsOf(bytes.subarray(0, bytes.length - 3), LOG_COLUMNS, false)).toThrow(
      /ends in the middle of a row/,
    );
    expect(rowsOf(bytes, LOG_COLUMNS_WITHOUT_BATCH_ID, false)).toBeUndefined();
    expect(rowsOf(bytes, [...LOG_COLUMNS, 'Unknown'], false)).toBeUndefined();
  });
});
