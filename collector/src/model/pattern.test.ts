import { PATTERN_PREFIX_CHARS, patternHex, patternIdOf, templateOf } from './pattern';

describe('log patterns', () => {
  it('replace the variable parts of a message by placeholders', () => {
    const cases: Array<[string, string]> = [
      ['charging 12.5 EUR for order 1003', 'charging <num> EUR for order <num>'],
      ["user 'bob' id 3f2a9c1e-1111-2222-3333-444455556666 took 10ms", 'user <str> id <uuid> took <num>ms'],
      ['trace deadbeefcafe1234 v2 pay-4', 'trace <hex> v2 pay-<num>'],
      ['GET /orders/4242 -> 200 for user-7919', 'GET /orders/<num> -> <num> for user-<num>'],
      ['{"level":30,"msg":"checkout done"}', '{<str>:<num>,<str>:<str>}'],
      ["don't stop", "don't stop"],
      ['took 12.5ms, then 3.14.15', 'took <num>ms, then <num>.<num>'],
      ['connected', 'connected'],
      ['', ''],
      ['naïve 42 ünïcode', 'naïve <num> ünïcode'],
    ];
    for (const [body, template] of cases)
      expect({ body, template: templateOf(body) }).toEqual({ body, template });
    expect(templateOf('x'.repeat(PATTERN_PREFIX_CHARS + 100) + ' 1')).toBe('x'.repeat(PATTERN_PREFIX_CHARS));
  });

  it('give messages of one template one id, and others another; never 0', () => {
    const a = patternIdOf('charging 12.5 EUR for order 1003');
    expect(patternIdOf('charging 7 EUR for order 1004')).toEqual(a);
    expect(patternIdOf('charging 7 USD for order 1004')).not.toEqual(a);
    expect(a).not.toEqual([0, 0]);
    expect(patternHex([0, 255])).toBe('ff');
    expect(patternHex([1, 15])).toBe('10000000f');
  });
});
