import { SEVERITY_TEXT_BY_NUMBER } from '@distlog/collector/model';
import { severityLabel } from './severity';

describe('severityLabel', () => {
  it('keeps the text the sender wrote', () => {
    expect(severityLabel('warning', 13)).toBe('warning');
    expect(severityLabel('notice', 0)).toBe('notice');
  });

  it("names a number sent without text by the OTLP data model's short names", () => {
    for (let n = 1; n <= 24; n++) expect(severityLabel('', n)).toBe(SEVERITY_TEXT_BY_NUMBER[n]);
    expect(severityLabel('', 9)).toBe('INFO');
    expect(severityLabel('', 18)).toBe('ERROR2');
  });

  it('calls a record with neither UNSPECIFIED', () => {
    for (const n of [0, -1, 25, 1.5, NaN]) expect(severityLabel('', n)).toBe('UNSPECIFIED');
  });
});
