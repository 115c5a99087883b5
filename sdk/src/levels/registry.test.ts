import pino from 'pino';
import { LevelRegistry } from './registry';
import { setLevelRegistry, trackLogger } from '.';
import { LevelRule } from './rules';

const rule = (id: string, logger: string, level: string, service = 'orders'): LevelRule => ({
  id,
  service,
  logger,
  level,
  setBy: 'test',
  setAt: new Date().toISOString(),
});

describe('LevelRegistry', () => {
  afterEach(() => setLevelRegistry(undefined));

  it('sets existing loggers and each of their children by its own name, and reverts', () => {
    const notices: string[] = [];
    const registry = new LevelRegistry('orders', (n) =>
      notices.push(n.changes.map((c) => `${c.logger}:${c.from}->${c.to}`).join(',')),
    );
    setLevelRegistry(registry);
    const root = pino({ name: 'orders', level: 'info' }, { write: () => true });
    trackLogger(root as never, 'orders');
    const db = root.child({ module: 'db' });
    const pool = db.child({ logger: 'db.pool' });
    const cache = root.child({ module: 'cache' }, { level: 'warn' });

    registry.setRules([rule('r1', 'db.*', 'debug')]);
    expect([root.level, db.level, pool.level, cache.level]).toEqual(['info', 'debug', 'debug', 'warn']);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/^db:info->debug/);

    registry.setRules([
      rule('r1', 'db.*', 'debug'),
      rule('r2', 'db.pool', 'error'),
      rule('r3', '*', 'silent', 'payments'),
    ]);
    expect([root.level, db.level, pool.level, cache.level]).toEqual(['info', 'debug', 'error', 'warn']);
    expect(registry.effectiveLevels()).toMatchObject({
      orders: { level: 'info', configured: 'info' },
      db: { level: 'debug', configured: 'info', rule: 'r1' },
      'db.pool': { level: 'error', configured: 'info', rule: 'r2' },
      cache: { level: 'warn', configured: 'warn' },
      console: { level: 'trace', configured: 'trace' },
    });

    registry.setRules([]);
    expect([root.level, db.level, pool.level, cache.level]).toEqual(['info', 'info', 'info', 'warn']);
    expect(notices.at(-1)).toMatch(/db:debug->info/);
    expect(notices.at(-1)).toMatch(/db\.pool:error->info/);
  });

  it('a logger created while a rule is in force starts at the rule’s level', () => {
    const registry = new LevelRegistry('orders', () => undefined);
    setLevelRegistry(registry);
    registry.setRules([rule('r1', 'late', 'trace')]);
    const late = pino({ name: 'late', level: 'info' }, { write: () => true });
    trackLogger(late as never, 'late');
    expect(late.level).toBe('trace');
  });
});
