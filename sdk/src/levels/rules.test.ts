import type { LevelRule } from './rules';
import { effectiveRule, patternToRegExp } from './rules';

const rule = (
  id: string,
  service: string,
  logger: string,
  level: string,
  extra: Partial<LevelRule> = {},
): LevelRule => ({
  id,
  service,
  logger,
  level,
  setBy: 't',
  setAt: `2026-01-01T00:00:0${id.length}Z`,
  ...extra,
});

describe('level rules', () => {
  it('patterns: * for any run, and x.* for x and its descendants', () => {
    expect(patternToRegExp('db.*').test('db')).toBe(true);
    expect(patternToRegExp('db.*').test('db.pool')).toBe(true);
    expect(patternToRegExp('db.*').test('dbx')).toBe(false);
    expect(patternToRegExp('*').test('anything')).toBe(true);
    expect(patternToRegExp('http').test('http.client')).toBe(false);
  });

  it('the most specific rule wins: exact service over *, exact logger over glob, longer glob over shorter', () => {
    const rules = [
      rule('a', '*', '*', 'warn'),
      rule('b', 'orders', '*', 'info'),
      rule('c', 'orders', 'db.*', 'debug'),
      rule('d', 'orders', 'db.pool', 'trace'),
      rule('e', '*', 'db.pool', 'error'),
    ];
    expect(effectiveRule(rules, 'orders', 'db.pool')?.id).toBe('d');
    expect(effectiveRule(rules, 'orders', 'db')?.id).toBe('c');
    expect(effectiveRule(rules, 'orders', 'http')?.id).toBe('b');
    expect(effectiveRule(rules, 'payments', 'db.pool')?.id).toBe('e');
    expect(effectiveRule(rules, 'payments', 'http')?.id).toBe('a');
  });

  it('ignores expired rules', () => {
    const rules = [rule('x', 'orders', 'db', 'debug', { expiresAt: '2026-01-01T00:00:00Z' })];
    expect(effectiveRule(rules, 'orders', 'db', Date.parse('2026-01-01T00:00:01Z'))).toBeUndefined();
    expect(effectiveRule(rules, 'orders', 'db', Date.parse('2025-12-31T23:59:59Z'))?.id).toBe('x');
  });
});
