import originalPino from 'pino';
import { LevelRegistry } from './registry';
import { setLevelRegistry } from '.';
import type { LevelRule } from './rules';
import { withTraceContext } from '../pino/factory';
import { mapPinoLine } from '../mapper';
import { DEFAULT_LOGGER_NAME } from '../pino/logger-name';

// Loggers made through Distlog's instrumentation of pino, as init() arranges.
const pino = withTraceContext(originalPino as never) as unknown as typeof originalPino;

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
    expect(late.level).toBe('trace');
  });

  it('names every logger as search shows it: children by `name`, `module`, `logger`, and unnamed ones', () => {
    const registry = new LevelRegistry('orders', () => undefined);
    setLevelRegistry(registry);
    const lines: string[] = [];
    const root = pino({ name: 'app', level: 'info' }, { write: (l: string) => void lines.push(l) });
    const anonymous = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const loggers = {
      root,
      byName: root.child({ name: 'db' }),
      byModule: root.child({ module: 'cache' }),
      byLogger: root.child({ logger: 'http' }),
      unnamedChild: root.child({ requestId: 7 }),
      loggerOverName: root.child({ name: 'ignored' }).child({ logger: 'queue' }),
      grandchildByName: root.child({ module: 'm' }).child({ name: 'n' }),
      anonymous,
      anonymousChild: anonymous.child({ requestId: 8 }),
    };
    for (const [key, logger] of Object.entries(loggers)) {
      // The name search shows: the mapper's scope name of a line this logger writes.
      lines.length = 0;
      logger.warn('which name?');
      const shown = mapPinoLine(JSON.parse(lines[0])).scopeName || DEFAULT_LOGGER_NAME;
      registry.setRules([rule(`r-${key}`, shown, 'debug')]);
      expect({ key, shown, level: logger.level }).toEqual({ key, shown, level: 'debug' });
      registry.setRules([]);
      expect({ key, level: logger.level }).toEqual({ key, level: 'info' });
    }
    expect(Object.keys(registry.effectiveLevels()).sort()).toEqual(
      ['app', 'db', 'cache', 'http', 'queue', 'm', 'pino', 'ignored', 'console'].sort(),
    );
  });
});

describe('LevelRegistry with a child logger per request (pino-http’s req.log)', () => {
  afterEach(() => setLevelRegistry(undefined));

  it('tells the collector of a name once, and lets go of collected children', async () => {
    // A collector that is not listening for level reports (another OTLP endpoint, or away):
    // nothing else looks at the registry, so it must keep itself small.
    let reports = 0;
    const registry = new LevelRegistry(
      'orders',
      () => undefined,
      () => reports++,
    );
    setLevelRegistry(registry);
    const root = pino({ name: 'http', level: 'info' }, { write: () => true });
    // The garbage collector, reachable without --expose-gc.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('node:v8').setFlagsFromString('--expose-gc');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const gc = require('node:vm').runInNewContext('gc') as () => void;
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < 1000; i++) root.child({ reqId: turn * 1000 + i }).info('handled');
      // Each request ends in its own turn; WeakRefs let go only after the turn.
      await new Promise((r) => setImmediate(r));
      gc();
    }
    expect(reports).toBe(1);
    expect(registry.trackedCount).toBeLessThan(5000);
    expect(Object.keys(registry.effectiveLevels())).toEqual(['http', 'console']);
  });
});
