import { parseConfig } from '../config/collector-config';
import { makeRow } from '../model/log-row';
import { MetricRollup, OVERFLOW_LABEL, severityName } from './rollup';

const config = (yaml: string) => parseConfig(yaml, 'x.yaml', {}).metrics;
const at = (minute: number, second = 0) => BigInt(minute * 60 + second) * 1_000_000_000n;

describe('MetricRollup', () => {
  it('groups per minute and field, reading the service, severity, logger, event, resource and record attributes', () => {
    const warnings: string[] = [];
    const rollup = new MetricRollup(
      config(`metrics:
  - { name: m, kind: count, by: [service.name, severity, logger, resource.host.name, route], retention: 30 }
  - { name: e, kind: count, by: [event.name], retention: 30 }`),
      100,
      (message) => warnings.push(message),
    );
    const row = makeRow({
      service: 'orders',
      scopeName: 'db',
      severityNumber: 14,
      eventName: 'e',
      attrs: { route: '/a' },
    });
    row.resource.attributes.keys.push('host.name');
    row.resource.attributes.values.push('h1');
    rollup.observe([
      { ...row, timeUnixNano: at(10, 5) },
      { ...row, timeUnixNano: at(10, 59) },
      { ...row, timeUnixNano: at(11) },
    ]);
    const { points } = rollup.drain();
    expect(points.map((p) => [p.metric, p.minute, p.labelValues, p.count])).toEqual([
      ['m', 600, ['orders', 'WARN', 'db', 'h1', '/a'], 2],
      ['m', 660, ['orders', 'WARN', 'db', 'h1', '/a'], 1],
      ['e', 600, ['e'], 2],
      ['e', 660, ['e'], 1],
    ]);
    expect(rollup.drain().points).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('files groups past maxSeries under ~other (said once), and counts records without a numeric value', () => {
    const warnings: string[] = [];
    const rollup = new MetricRollup(
      config(`metrics:
  - { name: d, kind: distribution, value: ms, by: [service.name], retention: 30 }`),
      2,
      (message) => warnings.push(message),
    );
    const rows = ['a', 'b', 'c', 'd'].map((service) =>
      makeRow({ service, timeUnixNano: at(1), attrs: { ms: '5' } }),
    );
    rows.push(makeRow({ service: 'a', timeUnixNano: at(1), attrs: { ms: 'slow' } }));
    rows.push(makeRow({ service: 'a', timeUnixNano: at(1), attrs: { ms: '' } }));
    rows.push(makeRow({ service: 'a', timeUnixNano: at(1) }));
    rollup.observe(rows);
    rollup.observe(rows);
    const { points, missing, overflowed } = rollup.drain();
    expect(points.map((p) => [p.labelValues[0], p.count, p.sum])).toEqual([
      ['a', 2, 10],
      ['b', 2, 10],
      [OVERFLOW_LABEL, 4, 20],
    ]);
    expect(missing).toEqual(new Map([['d', 6]]));
    expect(overflowed).toEqual(new Map([['d', 4]]));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/metric d has more than 2 groups/);
  });

  it('counts a tally only when it is merged, adding to the groups already there', () => {
    const rollup = new MetricRollup(
      config(`metrics:
  - { name: d, kind: distribution, value: ms, by: [service.name], retention: 30 }`),
      100,
    );
    const rows = [5, 7].map((ms) =>
      makeRow({ service: 'a', timeUnixNano: at(1), attrs: { ms: String(ms) } }),
    );
    rollup.observe(rows);
    const tally = rollup.tally([...rows, makeRow({ service: 'a', timeUnixNano: at(1), attrs: { ms: 'x' } })]);
    const unmerged = rollup.tally(rows);
    void unmerged; // a request that was not stored: never merged, never counted
    rollup.merge(tally);
    const { points, missing } = rollup.drain();
    expect(points.map((p) => [p.labelValues[0], p.count, p.sum, [...p.buckets!.values()]])).toEqual([
      ['a', 4, 24, [2, 2]],
    ]);
    expect(missing).toEqual(new Map([['d', 1]]));
  });

  it('counts a request of neighbouring records as it counts the records one by one', () => {
    const metrics = config(`metrics:
  - { name: by_origin, kind: count, by: [service.name, severity, event.name], retention: 30 }
  - { name: by_route, kind: count, by: [route], retention: 30 }`);
    // A request's records share their resource and scope objects, as decoded.
    const services = [makeRow({ service: 'a' }).resource, makeRow({ service: 'b' }).resource];
    const sharedScope = makeRow().scope;
    const rows = Array.from({ length: 200 }, (_, i) => ({
      ...makeRow({
        severityNumber: [9, 9, 13, 17][i % 4],
        eventName: i % 7 === 0 ? 'usage.x' : '',
        timeUnixNano: at(Math.floor(i / 50), i % 60),
        attrs: { route: `/r${i % 3}` },
      }),
      resource: services[Math.floor(i / 10) % 2],
      scope: sharedScope,
    }));
    const together = new MetricRollup(metrics, 1000);
    together.observe(rows);
    const oneByOne = new MetricRollup(metrics, 1000);
    for (const r of rows) oneByOne.observe([r]);
    const summary = (rollup: MetricRollup) =>
      rollup
        .drain()
        .points.map((p) => `${p.metric} ${p.minute} ${p.labelValues.join(',')} ${p.count}`)
        .sort();
    const expected = summary(oneByOne);
    expect(summary(together)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(20);
  });

  it('names severities by their range', () => {
    expect([0, 1, 4, 5, 9, 12, 13, 17, 21, 24].map(severityName)).toEqual([
      'UNSPECIFIED',
      'TRACE',
      'TRACE',
      'DEBUG',
      'INFO',
      'INFO',
      'WARN',
      'ERROR',
      'FATAL',
      'FATAL',
    ]);
  });
});
