import type { TraceRecord } from './scope-tree';
import { buildScopeTree, renderScopeTree } from './scope-tree';

let t = 1_700_000_000_000_000_000n;
function rec(
  spanId: string,
  eventName: string,
  attributes: Record<string, string>,
  service = 'svc',
  body = '',
): TraceRecord {
  t += 1_000_000n;
  return {
    timeUnixNano: t.toString(),
    service,
    scope: 'distlog.scope',
    eventName,
    body,
    spanId,
    severityNumber: 9,
    attributes,
  };
}

describe('buildScopeTree', () => {
  it('nests scopes by parent span id across services, orders children by start, hangs records under scopes', () => {
    const records = [
      rec('a', 'distlog.scope.start', { 'scope.name': 'GET /checkout' }, 'gateway'),
      rec(
        'b',
        'distlog.scope.start',
        { 'scope.name': 'POST /orders', 'scope.parent_span_id': 'a' },
        'orders',
      ),
      rec('c', 'distlog.scope.start', { 'scope.name': 'validate', 'scope.parent_span_id': 'b' }, 'orders'),
      rec('c', '', {}, 'orders', 'valid'),
      rec(
        'c',
        'distlog.scope.end',
        {
          'scope.name': 'validate',
          'scope.parent_span_id': 'b',
          'scope.status': 'ok',
          'scope.duration_ms': '1.5',
        },
        'orders',
      ),
      rec('d', 'distlog.scope.start', { 'scope.name': 'charge', 'scope.parent_span_id': 'b' }, 'payments'),
      rec(
        'd',
        'distlog.scope.end',
        {
          'scope.name': 'charge',
          'scope.parent_span_id': 'b',
          'scope.status': 'error',
          'scope.duration_ms': '3',
          'exception.message': 'declined',
        },
        'payments',
      ),
      rec(
        'b',
        'distlog.scope.end',
        {
          'scope.name': 'POST /orders',
          'scope.parent_span_id': 'a',
          'scope.status': 'ok',
          'scope.duration_ms': '9',
        },
        'orders',
      ),
      rec('', '', {}, 'other', 'orphan'),
    ];
    // Input order must not matter.
    const tree = buildScopeTree([...records].reverse());
    expect(renderScopeTree(tree, { durations: true })).toBe(
      [
        'GET /checkout [gateway] …',
        '└─ POST /orders [orders] 9 ms',
        '   ├─ validate [orders] 1.5 ms',
        '   └─ charge [payments] 3 ms ✗ declined',
      ].join('\n'),
    );
    expect(tree.roots[0].children[0].children[0].records.map((r) => r.body)).toEqual(['valid']);
    expect(tree.orphans.map((r) => r.body)).toEqual(['orphan']);
  });

  it("makes a node of each span another SDK's records name, in time order; records without a span stay outside", () => {
    const records = [
      rec('a', 'distlog.scope.start', { 'scope.name': 'GET /checkout' }, 'gateway'),
      rec('5eed000000000001', '', {}, 'java-svc', 'request in'),
      rec('a', '', {}, 'gateway', 'in the scope'),
      rec('5eed000000000002', '', {}, 'java-svc', 'db query'),
      rec('5eed000000000001', '', {}, 'java-svc', 'responding'),
      rec('0000000000000000', '', {}, 'java-svc', 'all-zero span id'),
      rec('', '', {}, 'java-svc', 'no span'),
    ];
    const tree = buildScopeTree([...records].reverse());
    expect(renderScopeTree(tree)).toBe(
      [
        'GET /checkout [gateway] …',
        'span 5eed000000000001 [java-svc]',
        'span 5eed000000000002 [java-svc]',
      ].join('\n'),
    );
    const [scope, first, second] = tree.roots;
    expect(scope.records.map((r) => r.body)).toEqual(['in the scope']);
    expect(first.records.map((r) => r.body)).toEqual(['request in', 'responding']);
    expect(second.records.map((r) => r.body)).toEqual(['db query']);
    expect({ status: first.status, start: first.startUnixNano }).toEqual({
      status: 'unknown',
      start: records[1].timeUnixNano,
    });
    expect(tree.orphans.map((r) => r.body)).toEqual(['all-zero span id', 'no span']);
  });

  it('derives the start of a scope whose start record is missing from its end and duration', () => {
    const end = rec('x', 'distlog.scope.end', {
      'scope.name': 'lonely',
      'scope.status': 'ok',
      'scope.duration_ms': '2',
    });
    const [root] = buildScopeTree([end]).roots;
    expect(BigInt(end.timeUnixNano) - BigInt(root.startUnixNano!)).toBe(2_000_000n);
  });

  it("says when a called service's clock is evidently behind its caller's (a scope starting before the one that called it)", () => {
    const at = (ms: number) =>
      (1_700_000_000_000_000_000n + BigInt(Math.round(ms * 1000)) * 1_000n).toString();
    const scope = (
      spanId: string,
      eventName: string,
      ms: number,
      service: string,
      attributes: Record<string, string>,
    ): TraceRecord => ({
      timeUnixNano: at(ms),
      service,
      scope: 'distlog.scope',
      eventName,
      body: '',
      spanId,
      severityNumber: 9,
      attributes,
    });
    const records = [
      scope('a', 'distlog.scope.start', 1000, 'gateway', { 'scope.name': 'GET /checkout' }),
      // orders' host runs 250 ms behind: its scope, called at ~1005 ms, is stamped 755 ms.
      scope('b', 'distlog.scope.start', 755, 'orders', {
        'scope.name': 'POST /orders',
        'scope.parent_span_id': 'a',
      }),
      scope('c', 'distlog.scope.start', 760, 'orders', {
        'scope.name': 'validate',
        'scope.parent_span_id': 'b',
      }),
      // payments is on time (called by orders: 1010 ms on its clock, 760 on orders').
      scope('d', 'distlog.scope.start', 1010, 'payments', {
        'scope.name': 'charge',
        'scope.parent_span_id': 'b',
      }),
      scope('a', 'distlog.scope.end', 1100, 'gateway', { 'scope.status': 'ok', 'scope.duration_ms': '100' }),
    ];
    const tree = buildScopeTree(records);
    expect(tree.clockNotes).toEqual([
      `orders's clock is at least 245 ms behind gateway's: "POST /orders" [orders] starts before "GET /checkout" [gateway], ` +
        'which called it (times are shown as each host recorded them)',
    ]);
    // Within a millisecond, or a called scope starting after its caller: nothing said.
    expect(buildScopeTree(records.filter((r) => r.spanId !== 'b' && r.spanId !== 'c')).clockNotes).toEqual(
      [],
    );
    expect(
      buildScopeTree([
        scope('a', 'distlog.scope.start', 1000, 'gateway', { 'scope.name': 'GET /' }),
        scope('b', 'distlog.scope.start', 999.5, 'orders', {
          'scope.name': 'POST /',
          'scope.parent_span_id': 'a',
        }),
      ]).clockNotes,
    ).toEqual([]);
  });
});
