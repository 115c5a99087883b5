import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseTime } from './filters';

// Times without a zone are UTC, as every time is shown (console, web UI, API): a time copied
// from `distlog search` output into --from means the same wherever the query server runs.

/** parseTime in a process whose zone is New York (jest's process.env does not reach Node's clock). */
function parseTimeInNewYork(values: string[]): Array<number | string> {
  const built = path.resolve(__dirname, '../../dist/server/filters.js');
  const script = `const { parseTime } = require(${JSON.stringify(built)});
    const out = [new Date(2026, 11, 7, 7, 52).getTimezoneOffset()];
    for (const v of JSON.parse(process.argv[1])) out.push(parseTime('from', v));
    process.stdout.write(JSON.stringify(out));`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script, JSON.stringify(values)], {
      env: { ...process.env, TZ: 'America/New_York' },
      encoding: 'utf8',
    }),
  );
}

describe('parseTime', () => {
  it('reads a time without a zone as UTC, not as the server’s local time', () => {
    const utc = Date.UTC(2026, 11, 7, 7, 52, 5, 123);
    const [offset, ...parsed] = parseTimeInNewYork([
      '2026-12-07 07:52:05.123', // as `distlog search` prints it
      '2026-12-07T07:52:05.123',
      '2026-12-07T07:52:05.123456789',
      '2026-12-07T07:52',
      '2026-12-07',
    ]);
    expect(offset).toBe(300); // the child's zone is New York's
    expect(parsed).toEqual([utc, utc, utc, Date.UTC(2026, 11, 7, 7, 52), Date.UTC(2026, 11, 7)]);
  });

  it('keeps a zone that is given, and milliseconds since the epoch', () => {
    expect(parseTime('to', '2026-12-07T07:52:05Z')).toBe(Date.UTC(2026, 11, 7, 7, 52, 5));
    expect(parseTime('to', '2026-12-07T08:52:05+01:00')).toBe(Date.UTC(2026, 11, 7, 7, 52, 5));
    expect(parseTime('to', '1796629925000')).toBe(1796629925000);
    expect(() => parseTime('to', 'yesterday')).toThrow(/to: expected an ISO 8601 time/);
  });
});
