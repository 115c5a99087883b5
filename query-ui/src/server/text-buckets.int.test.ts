import type { ClickHouse } from '@distlog/collector/storage';
import { createTestDatabase, dropTestDatabase } from '@distlog/collector/testing';
import { parseFilter } from './filters';
import { Queries } from './queries';
import { BUCKET_SECONDS, TextBuckets, runConditions } from './text-buckets';

/**
 * Text search past the newest hour: on servers without skip indexes (18.16) through the
 * tiers' word index (buckets that hold every word of the text), on current servers
 * through the body's n-gram index. Either way it finds exactly what a full scan finds.
 */
let ch: ClickHouse;
const NOW = Math.floor(Date.now() / 1000 / BUCKET_SECONDS) * BUCKET_SECONDS - 60;
const HOURS = 8;
/** Rows in minute m (0 = NOW, counting back) carry the rare text only at m = 300 (five hours back). */
const RARE_MINUTE = 300;

beforeAll(async () => {
  ch = await createTestDatabase('text_buckets');
  await ch.command(
    `INSERT INTO ${ch.database}.logs (Timestamp, TimeUnixNano, ServiceName, Body)
     SELECT toDateTime(${NOW} - intDiv(number, 20) * 60) AS t, toUInt64(toUInt32(t)) * 1000000000 + number,
            concat('svc-', toString(number % 3)),
            if(intDiv(number, 20) = ${RARE_MINUTE} AND number % 20 = 7, 'payment DEADLOCK-7x9q on Ledger#12',
               concat('request handled for user-', toString(number % 97), ' in ', toString(number % 13), ' ms'))
     FROM system.numbers LIMIT ${20 * 60 * HOURS}`,
  );
});
afterAll(() => dropTestDatabase(ch));

describe('runConditions', () => {
  it('says what a word of a matching body must be, for each run of the text', () => {
    expect(runConditions('Deadlock-7X9q')).toEqual([
      { run: 'deadlock', match: 'endsWith' },
      { run: '7x9q', match: 'startsWith' },
    ]);
    expect(runConditions(' on ledger#')).toEqual([
      { run: 'ledger', match: 'equals' },
      { run: 'on', match: 'equals' },
    ]);
    expect(runConditions('adloc')).toEqual([{ run: 'adloc', match: 'contains' }]);
    expect(runConditions('#-# ü')).toEqual([]);
  });

  it('looks up at most the four longest runs', () => {
    expect(runConditions('a bb ccc dddd eeeee').map((c) => c.run)).toEqual(['eeeee', 'dddd', 'ccc', 'bb']);
  });
});

describe('text search over hours', () => {
  const search = async (text: string) => {
    const f = parseFilter({ text, since: `${HOURS + 1}h`, to: String(NOW * 1000 + 999) });
    const page = await new Queries(ch).search(f, 50);
    return page.records.map((r) => r.body);
  };

  it('finds the one record five hours back by a phrase, a part of a word, in any case', async () => {
    for (const text of ['deadlock-7x9q', 'ADLOCK-7X', 'ledger#12', 'DEADLOCK-7x9q on Ledger#12', 'q on l'])
      expect({ text, found: await search(text) }).toEqual({
        text,
        found: ['payment DEADLOCK-7x9q on Ledger#12'],
      });
    expect(await search('deadlock-7x9r')).toEqual([]);
  });

  it('on 18.16 reads only the buckets whose words can hold the text; current servers use the n-gram index', async () => {
    const buckets = new TextBuckets(ch);
    const candidates = await buckets.candidates('deadlock-7x9q', (NOW - HOURS * 3600) * 1000, NOW * 1000);
    if (ch.features.skipIndexes) {
      expect(candidates).toBeUndefined();
      return;
    }
    const rareBucket = Math.floor((NOW - RARE_MINUTE * 60) / BUCKET_SECONDS) * BUCKET_SECONDS;
    expect(candidates).toEqual([rareBucket]);
    // A word in every record: every bucket of the range.
    const all = await buckets.candidates('handled', (NOW - 2 * 3600) * 1000, NOW * 1000);
    expect(all!.length).toBeGreaterThanOrEqual(12);
  });

  it('a common text still comes newest first, a page at a time', async () => {
    const f = parseFilter({
      text: 'REQUEST handled for user-4 ',
      since: `${HOURS + 1}h`,
      to: String(NOW * 1000 + 999),
    });
    const page = await new Queries(ch).search(f, 50);
    expect(page.records).toHaveLength(50);
    expect(page.nextCursor).toBeDefined();
    expect(page.records.every((r) => r.body.startsWith('request handled for user-4 in '))).toBe(true);
    const times = page.records.map((r) => BigInt(r.timeUnixNano));
    expect(times.every((t, i) => i === 0 || t <= times[i - 1])).toBe(true);
  });
});
