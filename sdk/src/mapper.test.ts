import { SeverityNumber } from '@opentelemetry/api-logs';
import { mapPinoLine } from './mapper';
import { severityOfPinoLevel } from './internal/severity';

describe('severityOfPinoLevel', () => {
  it('maps the six standard levels to the OTel severities', () => {
    expect([10, 20, 30, 40, 50, 60].map(severityOfPinoLevel)).toEqual([
      SeverityNumber.TRACE,
      SeverityNumber.DEBUG,
      SeverityNumber.INFO,
      SeverityNumber.WARN,
      SeverityNumber.ERROR,
      SeverityNumber.FATAL,
    ]);
  });

  it('keeps custom levels in order between the standard ones', () => {
    expect(severityOfPinoLevel(35)).toBe(SeverityNumber.INFO3);
    expect(severityOfPinoLevel(25)).toBe(SeverityNumber.DEBUG3);
    expect(severityOfPinoLevel(1)).toBe(SeverityNumber.TRACE);
    expect(severityOfPinoLevel(100)).toBe(SeverityNumber.FATAL4);
    const levels = Array.from({ length: 70 }, (_, i) => severityOfPinoLevel(i));
    expect([...levels].sort((a, b) => a - b)).toEqual(levels);
  });
});

describe('mapPinoLine', () => {
  it('maps msg, level, time, bindings and nested objects', () => {
    const m = mapPinoLine({
      level: 40,
      time: 1700000000123,
      pid: 1,
      hostname: 'h',
      name: 'api',
      module: 'db',
      msg: 'slow query',
      query: { table: 'orders', ms: 812 },
      tags: ['a', 'b'],
    });
    expect(m.scopeName).toBe('db');
    expect(m.record).toEqual({
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'slow query',
      timestamp: 1700000000123,
      attributes: { query: { table: 'orders', ms: 812 }, tags: ['a', 'b'] },
    });
    expect(m.traceContext).toBeUndefined();
  });

  it('uses pino name as the scope when no logger/module binding exists, and custom level labels', () => {
    const m = mapPinoLine({ level: 35, name: 'payments', msg: 'x' }, { levelLabels: { 35: 'notice' } });
    expect(m.scopeName).toBe('payments');
    expect(m.record.severityText).toBe('NOTICE');
    expect(m.record.severityNumber).toBe(SeverityNumber.INFO3);
  });

  it('turns err into the exception attributes', () => {
    const m = mapPinoLine({
      level: 50,
      msg: 'boom',
      err: { type: 'TypeError', message: 'bad', stack: 'TypeError: bad\n  at x' },
    });
    expect(m.record.attributes).toEqual({
      'exception.type': 'TypeError',
      'exception.message': 'bad',
      'exception.stacktrace': 'TypeError: bad\n  at x',
    });
  });

  it("takes the message and the error from the logger's messageKey and errorKey", () => {
    const m = mapPinoLine(
      { level: 50, message: 'boom', msg: 'a field', error: { type: 'Error', message: 'bad' }, err: 'x' },
      { messageKey: 'message', errorKey: 'error' },
    );
    expect(m.record.body).toBe('boom');
    expect(m.record.attributes).toEqual({
      msg: 'a field',
      err: 'x',
      'exception.type': 'Error',
      'exception.message': 'bad',
    });
  });

  it('reads trace context written by the mixin into the context, not the attributes', () => {
    const m = mapPinoLine({
      level: 30,
      msg: 'x',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
      trace_flags: '01',
    });
    expect(m.traceContext).toEqual({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    expect(m.record.attributes).toEqual({});
  });
});

describe('mapPinoLine: levels a level formatter renamed', () => {
  const severity = (line: Record<string, unknown>, known?: number) => {
    const { record } = mapPinoLine({ msg: 'm', ...line }, {}, known);
    return [record.severityText, record.severityNumber, Object.keys(record.attributes ?? {})];
  };

  it('reads Google Cloud’s `severity` and ECS’s `log.level` when `level` is missing, and keeps them out of the attributes', () => {
    expect(severity({ severity: 'WARNING', a: 1 })).toEqual(['WARN', SeverityNumber.WARN, ['a']]);
    expect(severity({ severity: 'CRITICAL' })).toEqual(['FATAL', SeverityNumber.FATAL, []]);
    expect(severity({ 'log.level': 'error' })).toEqual(['ERROR', SeverityNumber.ERROR, []]);
  });

  it('takes the level number it was told, or the line’s distlog_level, over what the formatter wrote', () => {
    expect(severity({ severity: 'INFO' }, 50)).toEqual(['ERROR', SeverityNumber.ERROR, []]);
    expect(severity({ lvl: 'e', distlog_level: 40 })).toEqual(['WARN', SeverityNumber.WARN, ['lvl']]);
  });

  it('leaves a `severity` that is no level name, or that sits beside pino’s `level`, as an attribute', () => {
    expect(severity({ severity: 'high' })).toEqual(['INFO', SeverityNumber.INFO, ['severity']]);
    expect(severity({ level: 50, severity: 'low' })).toEqual(['ERROR', SeverityNumber.ERROR, ['severity']]);
  });
});

describe('mapPinoLine: the unit of a numeric time', () => {
  const at = Date.UTC(2026, 11, 7, 16, 52, 48, 57);
  const timestamp = (time: number) => mapPinoLine({ msg: 'm', level: 30, time }).record.timestamp;

  it('takes milliseconds (pino’s default) as they are, and seconds (stdTimeFunctions.unixTime), micro- and nanoseconds by their size', () => {
    expect(timestamp(at)).toBe(at);
    expect(timestamp(Math.round(at / 1000))).toBe(Math.round(at / 1000) * 1000);
    expect(timestamp(at * 1000)).toBe(at);
    expect(timestamp(at * 1e6)).toBe(at);
  });
});

describe('mapPinoLine: a level written as a name', () => {
  it('reads the logger’s own custom label before another convention’s name of the same spelling', () => {
    const { record } = mapPinoLine({ msg: 'm', level: 'notice' }, { levelLabels: { 35: 'notice' } });
    expect(record.severityNumber).toBe(SeverityNumber.INFO3);
    expect(mapPinoLine({ msg: 'm', level: 'NOTICE' }).record.severityNumber).toBe(SeverityNumber.INFO);
  });
});
