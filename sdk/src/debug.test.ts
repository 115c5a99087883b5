import { format } from 'node:util';
import createDebug from 'debug';
import { trace, context } from '@opentelemetry/api';
import { captureDebug, releaseDebug } from './debug';
import { getDistlog, shutdown } from './init';
import { initLocal } from './testing/local';
import { LevelRegistry, setLevelRegistry } from './levels';
import type { LevelRule } from './levels';
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

beforeAll(() => {
  createDebug.log = (...args: unknown[]) => printed.push(format(...args));
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
});
