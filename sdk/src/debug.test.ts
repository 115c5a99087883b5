import { format } from 'node:util';
import createDebug from 'debug';
// Older copies, as express 4 and its middleware bring them (2.6.9), and 3.x.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debug2 = require('debug2') as typeof createDebug;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debug3 = require('debug3') as typeof createDebug;
import { trace, context } from '@opentelemetry/api';
import { captureDebug, releaseDebug } from './debug';
import { getDistlog, shutdown } from './init';
import { initLocal } from './testing/local';
import { setLevelRegistry } from './levels';
import type { LevelRule, LevelRegistry } from './levels';
import { scope } from './scope';

// A real copy of `debug` (4.x, the root's): captured in place, switched by level rules.
const printed: string[] = [];
let registry: LevelRegistry;

function rule(logger: string, level: string): LevelRule {
  return { id: `r-${logger}`, service: 'svc', logger, level, setBy: 't', setAt: new Date().toISOString() };
}

/** The records queued since the last call, as [scope name, body]. */
function taken(): Array<[string, string]> {
  return getDistlog()!
    .processor.takeQueued()
    .filter((r) => r.instrumentationScope.name !== 'distlog.process')
    .map((r) => [r.instrumentationScope.name, String(r.body)]);
}

const early = createDebug('lib:early'); // made before the capture, as libraries do at require time
const early2 = debug2('old2:early');
const early3 = debug3('old3:early');

beforeAll(() => {
  createDebug.log = (...args: unknown[]) => printed.push(format(...args));
  debug2.log = createDebug.log;
  debug3.log = createDebug.log;
  createDebug.enable('lib:local');
  registry = initLocal();
  captureDebug();
});

afterAll(async () => {
  releaseDebug();
  setLevelRegistry(undefined);
  getDistlog()!.processor.takeQueued();
  await shutdown();
});

beforeEach(() => {
  registry.setRules([]);
  taken();
  printed.length = 0;
});

describe('captureDebug', () => {
  it('records what DEBUG enables, formatted as debug formats it, and still prints it', () => {
    const local = createDebug('lib:local');
    local('order %d for %s: %o', 7, 'ada', { a: [1] });
    expect(taken()).toEqual([['lib:local', 'order 7 for ada: { a: [ 1 ] }']]);
    expect(printed.join('\n')).toContain('order 7 for ada');
  });

  it('turns namespaces on and off by rule — also instances made before the capture — and only records them', () => {
    const later = createDebug('lib:later');
    early('e1');
    later('l1');
    expect(taken()).toEqual([]);
    registry.setRules([rule('lib:*', 'debug')]);
    early('e2');
    later('l2');
    expect(taken()).toEqual([
      ['lib:early', 'e2'],
      ['lib:later', 'l2'],
    ]);
    expect(printed).toEqual([]); // a rule records; the terminal shows what DEBUG asks for
    expect(registry.effectiveLevels()['lib:early']).toMatchObject({ level: 'debug', configured: 'silent' });
    registry.setRules([rule('lib:*', 'info')]);
    early('e3');
    createDebug('lib:local')('quiet'); // a rule above debug silences even what DEBUG enabled
    expect(taken()).toEqual([]);
    registry.setRules([]);
    early('e4');
    expect(taken()).toEqual([]);
  });

  it("carries the caller's trace context and scope attributes", async () => {
    registry.setRules([rule('lib:early', 'debug')]);
    const ids = await scope('job', { job: 'nightly' }, async () => {
      early('inside');
      return trace.getSpanContext(context.active())!;
    });
    const [record] = getDistlog()!
      .processor.takeQueued()
      .filter((r) => r.instrumentationScope.name === 'lib:early');
    expect(record.spanContext).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
    expect(record.attributes).toMatchObject({ job: 'nightly' });
    expect(record.severityText).toBe('DEBUG');
  });

  it('follows rules in debug 2.x (instances made after the capture) and 3.x (all)', () => {
    const later2 = debug2('old2:later');
    const later3 = debug3('old3:later');
    registry.setRules([rule('old*', 'debug')]);
    early2('e2');
    later2('l2 %d', 2);
    early3('e3');
    later3('l3');
    expect(taken()).toEqual([
      ['old2:later', 'l2 2'],
      ['old3:early', 'e3'],
      ['old3:later', 'l3'],
    ]);
    expect(printed).toEqual([]);
    registry.setRules([]);
    later2('quiet');
    later3('quiet');
    expect(taken()).toEqual([]);
  });
});
