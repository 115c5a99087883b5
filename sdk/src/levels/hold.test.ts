import pinoModule from 'pino';
import { context, trace } from '@opentelemetry/api';
import { getDistlog, shutdown } from '../init';
import { initLocal } from '../testing/local';
import { withTraceContext } from '../pino/factory';
import { distlogDestination } from '../pino/destination';
import { scope } from '../scope';
import type { LevelRegistry } from './index';
import { setLevelRegistry } from './index';
import { holdStats, HELD_ATTRIBUTE } from './hold';
import type { LevelRule } from './rules';

// Fingers-crossed DEBUG with a real pino (in-process destination, so the records land in
// Distlog's queue in this thread, where the test reads them).
let registry: LevelRegistry;
const onError: LevelRule = {
  id: 'r1',
  service: 'svc',
  logger: 'held',
  level: 'debug',
  onError: true,
  setBy: 't',
  setAt: new Date().toISOString(),
};

let logger: pinoModule.Logger;

beforeAll(() => {
  registry = initLocal();
  const pino = withTraceContext(pinoModule as never) as unknown as typeof pinoModule;
  logger = pino({ name: 'held', level: 'info' }, distlogDestination());
});

afterAll(async () => {
  setLevelRegistry(undefined);
  getDistlog()!.processor.takeQueued();
  await shutdown();
});

/** What reached the export queue since the last call: the held logger's lines and scope ends. */
function sent(): Array<{ body: string; severity: string; held: boolean; traceId?: string; at: number }> {
  return getDistlog()!
    .processor.takeQueued()
    .filter((r) => r.instrumentationScope.name === 'held' || r.eventName === 'distlog.scope.end')
    .map((r) => ({
      body: String(r.body),
      severity: r.severityText ?? '',
      held: r.attributes[HELD_ATTRIBUTE] === true,
      traceId: r.spanContext?.traceId,
      at: r.hrTime[0] * 1000 + Math.floor(r.hrTime[1] / 1e6),
    }));
}

describe('onError rules (fingers-crossed DEBUG)', () => {
  beforeEach(() => {
    registry.setRules([onError]);
    sent();
  });
  afterEach(() => registry.setRules([]));

  it('holds DEBUG per trace and drops it when the root scope ends well', async () => {
    expect(logger.level).toBe('debug');
    expect(registry.effectiveLevels().held).toMatchObject({ level: 'debug', onError: true });
    await scope('ok request', async () => {
      logger.debug('d1');
      logger.info('i1'); // INFO and above are not held
    });
    expect(sent().map((r) => [r.body, r.held])).toEqual([
      ['i1', false],
      [expect.stringContaining('ok request finished'), false],
    ]);
    const before = holdStats().discarded;
    await scope('ok again', async () => logger.debug('d2'));
    expect(holdStats().discarded).toBe(before + 1);
    expect(holdStats().holding).toBe(0);
  });

  it('sends what a trace held, in order, with the original times, when an ERROR is logged in it', async () => {
    let traceId = '';
    await scope('failing request', async () => {
      traceId = trace.getSpanContext(context.active())!.traceId;
      logger.debug('step 1');
      await new Promise((r) => setTimeout(r, 20));
      logger.debug({ orderId: 7 }, 'step 2');
      await new Promise((r) => setTimeout(r, 20));
      logger.error('it failed');
    });
    const records = sent().filter((r) => r.body !== '' && !r.body.includes('finished'));
    expect(records.map((r) => [r.body, r.severity, r.held, r.traceId])).toEqual([
      ['step 1', 'DEBUG', true, traceId],
      ['step 2', 'DEBUG', true, traceId],
      ['it failed', 'ERROR', false, traceId],
    ]);
    expect(records[1].at - records[0].at).toBeGreaterThanOrEqual(15); // the times they were logged at
  });

  it('sends them when the root scope ends with an error, before its end record', async () => {
    await expect(
      scope('throwing request', async () => {
        logger.debug('about to throw');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(sent().map((r) => [r.body, r.held])).toEqual([
      ['about to throw', true],
      [expect.stringContaining('throwing request failed'), false],
    ]);
  });

  it('goes back to sending DEBUG as usual when the rule is plain', async () => {
    registry.setRules([{ ...onError, onError: undefined }]);
    await scope('plain', async () => logger.debug('sent at once'));
    expect(sent().map((r) => [r.body, r.held])[0]).toEqual(['sent at once', false]);
  });
});
