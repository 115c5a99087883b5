import { parseRecordId, recordId, toApiRecord } from './records';
import type { RecordRow } from './records';

const row = (body: string, extra: Partial<RecordRow> = {}): RecordRow =>
  ({
    Timestamp: '2026-12-07 14:28:17',
    TimeUnixNano: '1796653697224000000',
    SeverityNumber: 9,
    SeverityText: 'INFO',
    ServiceName: 'payments',
    ScopeName: 'console',
    EventName: '',
    Body: body,
    TraceId: 'ab'.repeat(16),
    SpanId: 'cd'.repeat(8),
    ak: [],
    av: [],
    rk: ['service.instance.id'],
    rv: ['instance-1'],
    tier: 'logs',
    ...extra,
  }) as RecordRow;

describe('record ids', () => {
  it('tell apart records of one instance in one millisecond (a scope end and the line before it)', () => {
    const line = toApiRecord(row("charged { paymentId: 'pay-4' }"));
    const end = toApiRecord(
      row('POST /payments finished in 4.428 ms', {
        ScopeName: 'distlog.scope',
        EventName: 'distlog.scope.end',
      }),
    );
    const sameBodyOtherAttributes = toApiRecord(
      row("charged { paymentId: 'pay-4' }", { ak: ['n'], av: ['2'] }),
    );
    expect(new Set([line.id, end.id, sameBodyOtherAttributes.id]).size).toBe(3);
    // The same record read twice has the same id (links and the live tail find it again).
    expect(toApiRecord(row("charged { paymentId: 'pay-4' }")).id).toBe(line.id);
  });

  it('say where the record is, and ids of older links (without the fingerprint) still parse', () => {
    const where = {
      tier: 'logs',
      timeUnixNano: '1796653697224000000',
      service: 'payments',
      instance: 'instance-1',
    };
    expect(parseRecordId(toApiRecord(row('x')).id)).toEqual(where);
    expect(parseRecordId(recordId('logs', '1796653697224000000', 'payments', 'instance-1'))).toEqual(where);
    expect(parseRecordId('not-an-id')).toBeUndefined();
    expect(parseRecordId(Buffer.from(JSON.stringify(['a', 'b'])).toString('base64url'))).toBeUndefined();
  });
});
