import { Router } from './router';
import { parseConfig } from '../config/collector-config';
import type { LogRow } from '../model/log-row';
import { makeRow } from '../model/log-row';

const row = makeRow;

const config = parseConfig(
  `
tiers:
  - { name: logs, retentionDays: 30 }
  - { name: debug, retentionDays: 3 }
  - { name: longterm, retentionDays: 400 }
destinations:
  - { name: audit, endpoint: "http://audit:4317" }
rules:
  - name: health
    match: { attributes: { http.target: { pattern: "^/health" } } }
    drop: true
  - name: payments-copy
    match: { service: "pay*", severity: { atLeast: WARN } }
    forward: audit
    continue: true
  - name: usage
    match: { eventName: "usage.*" }
    store: longterm
  - name: db-debug
    match: { scope: ["db", "db.*"], severity: { atMost: DEBUG4 } }
    store: debug
  - name: sampled
    match: { body: { contains: "tick" } }
    sample: 0.5
    store: logs
  - name: marked
    match: { attributes: { tenant: acme, vip: { exists: true } } }
    store: longterm
default: { store: logs }
`,
  'rules.yaml',
  {},
);

describe('Router', () => {
  const router = new Router(config.rules, config.defaultAction, () => 0.7);
  const route = (r: LogRow) => {
    const d = router.route(r);
    return { stores: [...d.stores], forwards: [...d.forwards], rules: d.rules, dropped: d.dropped };
  };

  it('first match wins; the default takes the rest', () => {
    expect(route(row({ eventName: 'usage.login' }))).toEqual({
      stores: ['longterm'],
      forwards: [],
      rules: ['usage'],
      dropped: false,
    });
    expect(route(row())).toEqual({ stores: ['logs'], forwards: [], rules: ['default'], dropped: false });
  });

  it('`continue` applies a rule and keeps matching', () => {
    expect(route(row({ service: 'payments', severityNumber: 17, eventName: 'usage.charge' }))).toEqual({
      stores: ['longterm'],
      forwards: ['audit'],
      rules: ['payments-copy', 'usage'],
      dropped: false,
    });
    // Below WARN the copy rule does not match.
    expect(route(row({ service: 'payments', severityNumber: 9 })).forwards).toEqual([]);
  });

  it('matches scope globs with severity bounds, attribute patterns, equality and existence', () => {
    expect(route(row({ scopeName: 'db.pool', severityNumber: 5 })).stores).toEqual(['debug']);
    expect(route(row({ scopeName: 'db.pool', severityNumber: 9 })).stores).toEqual(['logs']);
    expect(route(row({ scopeName: 'dbx', severityNumber: 5 })).stores).toEqual(['logs']);
    expect(route(row({ attrs: { 'http.target': '/healthz' } }))).toMatchObject({
      dropped: true,
      rules: ['health'],
    });
    expect(route(row({ attrs: { tenant: 'acme', vip: '' } })).stores).toEqual(['longterm']);
    expect(route(row({ attrs: { tenant: 'acme' } })).stores).toEqual(['logs']);
  });

  it('samples: a record outside the fraction is dropped', () => {
    expect(route(row({ body: 'tick 1' }))).toMatchObject({ dropped: true, rules: ['sampled'] });
    const keepAll = new Router(config.rules, config.defaultAction, () => 0.1);
    expect([...keepAll.route(row({ body: 'tick 1' })).stores]).toEqual(['logs']);
  });
});

describe('decisions shared per set of matching rules', () => {
  it('are the decisions a fresh walk makes, record after record; sampling draws each time', () => {
    const rows = [
      row({ attrs: { 'http.target': '/health' } }),
      row({ service: 'payments', severityNumber: 17, eventName: 'usage.charge' }),
      row({ service: 'payments', severityNumber: 17 }),
      row({ scopeName: 'db', severityNumber: 5 }),
      row({ attrs: { tenant: 'acme', vip: 'yes' } }),
      row(),
    ];
    const shared = new Router(config.rules, config.defaultAction);
    const plain = (r: LogRow, router: Router) => {
      const d = router.route(r);
      return { stores: [...d.stores], forwards: [...d.forwards], rules: [...d.rules], dropped: d.dropped };
    };
    for (let round = 0; round < 3; round++) {
      for (const r of rows)
        expect(plain(r, shared)).toEqual(plain(r, new Router(config.rules, config.defaultAction)));
    }
    const draws = [0.9, 0.1, 0.9, 0.1];
    const sampling = new Router(config.rules, config.defaultAction, () => draws.shift()!);
    expect([0, 1, 2, 3].map(() => sampling.route(row({ body: 'tick' })).dropped)).toEqual([
      true,
      false,
      true,
      false,
    ]);
    const sampledDefault = parseConfig(
      'tiers: [{ name: logs, retentionDays: 30 }]\ndefault: { store: logs, sample: 0.5 }',
      'd.yaml',
      {},
    );
    const coin = [0.9, 0.1];
    const byDefault = new Router(sampledDefault.rules, sampledDefault.defaultAction, () => coin.shift()!);
    expect([byDefault.route(row()).dropped, byDefault.route(row()).dropped]).toEqual([true, false]);
  });
});

describe('reject rules', () => {
  it('refuse a record with the rule’s message, and win over store/forward rules that continued', () => {
    const cfg = parseConfig(
      `
tiers: [{ name: logs, retentionDays: 30 }]
destinations: [{ name: audit, endpoint: "http://a:4317" }]
rules:
  - { name: copy, match: { service: shop }, forward: audit, continue: true }
  - { name: no-secrets, match: { attributes: { password: { exists: true } } }, reject: "records must not carry passwords" }
`,
      'reject.yaml',
      {},
    );
    const router = new Router(cfg.rules, cfg.defaultAction);
    const refused = router.route(row({ service: 'shop', attrs: { password: 'x' } }));
    expect(refused.rejected).toBe('records must not carry passwords');
    expect([...refused.stores, ...refused.forwards]).toEqual([]);
    expect(refused.dropped).toBe(false);
    expect(router.route(row({ service: 'shop' })).rejected).toBeUndefined();
  });
});
