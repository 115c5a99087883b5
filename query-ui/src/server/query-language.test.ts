import { SqlValues } from '@distlog/collector/storage';
import type { QueryNode } from './query-language';
import { QuerySyntaxError, compileQuery, parseQuery, queryMatcher, requiredText } from './query-language';
import type { ApiRecord } from './records';

/** The tree without positions, for short expectations. */
function shape(node: QueryNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case 'and':
    case 'or':
      return { [node.kind]: node.children.map(shape) };
    case 'not':
      return { not: shape(node.child) };
    case 'text':
      return node.text;
    case 'regex':
      return { regex: node.source };
    case 'field':
      return `${node.field}${node.op}${node.value}${node.wildcard ? ' (wildcard)' : ''}`;
  }
}

const fail = (q: string): { position: number; message: string } => {
  try {
    parseQuery(q);
  } catch (err) {
    if (err instanceof QuerySyntaxError) return { position: err.position, message: err.detail };
    throw err;
  }
  throw new Error(`parsed: ${q}`);
};

describe('the search language', () => {
  it('reads the example question as one line', () => {
    const q = '(service:orders OR service:payments) severity>=warn orderId:1000 timeout -logger:health*';
    expect(shape(parseQuery(q))).toEqual({
      and: [
        { or: ['service:orders', 'service:payments'] },
        'severity>=warn',
        'orderId:1000',
        'timeout',
        { not: 'logger:health* (wildcard)' },
      ],
    });
  });

  it('binds AND tighter than OR, takes NOT, AND, quoted phrases and values, regular expressions', () => {
    expect(shape(parseQuery('a b OR c AND NOT d'))).toEqual({
      or: [{ and: ['a', 'b'] }, { and: ['c', { not: 'd' }] }],
    });
    expect(shape(parseQuery('"connection reset" user:"ada lovelace" /time(d)?out/'))).toEqual({
      and: ['connection reset', 'user:ada lovelace', { regex: 'time(d)?out' }],
    });
    expect(
      shape(
        parseQuery('has:exception.type http.status>=500 level:error trace:0123456789abcdef0123456789ABCDEF'),
      ),
    ).toEqual({
      and: [
        'has:exception.type',
        'http.status>=500',
        'severity:error',
        'trace:0123456789abcdef0123456789ABCDEF',
      ],
    });
    expect(shape(parseQuery('path:"a\\"b\\\\c" x!=1 y<2.5'))).toEqual({
      and: ['path:a"b\\c', 'x!=1', 'y<2.5'],
    });
    expect(shape(parseQuery('  '))).toBeUndefined();
    expect(shape(parseQuery('user-42 a-b'))).toEqual({ and: ['user-42', 'a-b'] });
  });

  it('names the position of what was wrong', () => {
    expect(fail('service:orders (timeout')).toEqual({
      position: 15,
      message: 'this parenthesis is not closed (a ) is missing)',
    });
    expect(fail('a )')).toEqual({ position: 2, message: 'this ) closes no parenthesis' });
    expect(fail('severity>=loud')).toEqual({
      position: 10,
      message: 'severity: expected TRACE, DEBUG, INFO, WARN, ERROR, FATAL or 1-24, got "loud"',
    });
    expect(fail('service: x')).toEqual({
      position: 8,
      message: 'a value is missing after "service:" (e.g. service:value, or service:"two words")',
    });
    expect(fail('"unclosed')).toEqual({
      position: 0,
      message: 'the quoted text is not closed (a " is missing)',
    });
    expect(fail('a OR')).toEqual({ position: 4, message: 'OR needs a condition after it' });
    expect(fail('OR a')).toEqual({ position: 0, message: 'OR needs a condition before it' });
    expect(fail('/(/')).toMatchObject({
      position: 0,
      message: expect.stringMatching(/^invalid regular expression/),
    });
    expect(fail('/abc')).toEqual({
      position: 0,
      message: 'the regular expression is not closed (a / is missing)',
    });
    expect(fail('trace:xyz')).toEqual({
      position: 6,
      message: 'trace: expected 32 hex digits after : (got "xyz")',
    });
    expect(fail('service>a')).toEqual({ position: 7, message: 'service compares only with : = and !=' });
    expect(fail('()')).toEqual({ position: 0, message: 'empty parentheses' });
    expect(new QuerySyntaxError(3, 'x').message).toBe('q: at 4: x');
  });

  it('compiles to SQL with every value as a parameter, and means the same as the record test', () => {
    const v = new SqlValues(true);
    const sql = compileQuery(parseQuery(`service:ord* -user:"o'brien" amount>10 severity<warn`)!, v);
    expect(sql).toBe(
      '(ServiceName LIKE {p0:String}' +
        ' AND NOT (has(LogAttributes.key, {p1:String}) AND LogAttributes.value[indexOf(LogAttributes.key, {p1:String})] = {p2:String})' +
        ' AND has(LogAttributes.key, {p3:String}) AND toFloat64OrNull(LogAttributes.value[indexOf(LogAttributes.key, {p3:String})]) > 10' +
        ' AND SeverityNumber < 13)',
    );
    expect(v.params).toEqual({ p0: 'ord%', p1: 'user', p2: "o'brien", p3: 'amount' });
    const rec = (over: Partial<ApiRecord>): ApiRecord => ({
      id: '',
      time: '',
      timeUnixNano: '0',
      service: 'orders',
      severityText: 'INFO',
      severityNumber: 9,
      scope: 'app',
      eventName: '',
      body: 'Connection TIMEOUT after 30s',
      traceId: '',
      spanId: '',
      attributes: { amount: '12.5' },
      resource: {},
      tier: 'logs',
      ...over,
    });
    const m = (q: string) => queryMatcher(parseQuery(q)!);
    expect(m(`service:ord* -user:"o'brien" amount>10 severity<warn`)(rec({}))).toBe(true);
    expect(m('amount>20')(rec({}))).toBe(false);
    expect(m('timeout')(rec({}))).toBe(true);
    expect(m('/TIME(d)?OUT/')(rec({}))).toBe(true);
    expect(m('severity:info OR severity:error')(rec({ severityNumber: 18 }))).toBe(true);
    expect(m('has:amount -has:user')(rec({}))).toBe(true);
    expect(m('tier:debug')(rec({}))).toBe(false);
  });

  it('takes the longest plain text that every match contains, to narrow the read', () => {
    expect(requiredText(parseQuery('service:a timeout "connection reset"'))).toBe('connection reset');
    expect(requiredText(parseQuery('timeout OR reset'))).toBeUndefined();
    expect(requiredText(parseQuery('-timeout'))).toBeUndefined();
  });
});
