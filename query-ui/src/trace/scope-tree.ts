/**
 * Rebuilds a request's scope tree from log records alone (no tracing backend): the
 * SDK writes a `distlog.scope.start` and a `distlog.scope.end` record per scope, with
 * the scope's span id as the record's span id and `scope.parent_span_id` pointing at
 * the enclosing scope (possibly in another process). Records logged inside a scope
 * share its span id and are hung under it.
 *
 * Records from other OpenTelemetry SDKs carry a span id but no scope records: each such
 * span becomes a node of its own (status `unknown`, named by its id, starting at its first
 * record), at the top level, as log records do not say which span a span was started in.
 */
export const SCOPE_START_EVENT = 'distlog.scope.start';
export const SCOPE_END_EVENT = 'distlog.scope.end';

export interface TraceRecord {
  timeUnixNano: string;
  service: string;
  scope: string;
  eventName: string;
  body: string;
  spanId: string;
  severityNumber: number;
  attributes: Record<string, string>;
}

export interface ScopeNode {
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  service: string;
  /** ns since epoch, as text (UInt64). */
  startUnixNano: string | undefined;
  durationMs: number | undefined;
  /** `unknown`: a span known only from the records logged in it (another SDK's span). */
  status: 'ok' | 'error' | 'running' | 'unknown';
  error: string | undefined;
  children: ScopeNode[];
  /** Records logged in this scope (not the start/end records). */
  records: TraceRecord[];
}

export interface ScopeTree {
  roots: ScopeNode[];
  /** Records without a span id. */
  orphans: TraceRecord[];
  /**
   * Where a service's clock evidently differs from its caller's, in words: a scope that starts
   * before the scope that called it (in another service) shows that its host's clock is behind
   * by at least the difference. Times are shown as each host recorded them.
   */
  clockNotes: string[];
}

export function buildScopeTree(records: readonly TraceRecord[]): ScopeTree {
  const sorted = [...records].sort((a, b) => compareNanos(a.timeUnixNano, b.timeUnixNano));
  const nodes = new Map<string, ScopeNode>();
  const node = (r: TraceRecord): ScopeNode => {
    let n = nodes.get(r.spanId);
    if (!n) {
      n = {
        spanId: r.spanId,
        parentSpanId: undefined,
        name: r.attributes['scope.name'] ?? '',
        service: r.service,
        startUnixNano: undefined,
        durationMs: undefined,
        status: 'running',
        error: undefined,
        children: [],
        records: [],
      };
      nodes.set(r.spanId, n);
    }
    return n;
  };
  for (const r of sorted) {
    if (r.eventName !== SCOPE_START_EVENT && r.eventName !== SCOPE_END_EVENT) continue;
    const n = node(r);
    n.parentSpanId ??= r.attributes['scope.parent_span_id'] || undefined;
    if (r.eventName === SCOPE_START_EVENT) n.startUnixNano = r.timeUnixNano;
    else {
      const duration = Number(r.attributes['scope.duration_ms']);
      n.durationMs = Number.isFinite(duration) ? duration : undefined;
      n.status = r.attributes['scope.status'] === 'error' ? 'error' : 'ok';
      if (n.status === 'error') n.error = r.attributes['exception.message'] ?? r.body;
      n.startUnixNano ??= startFromEnd(r.timeUnixNano, n.durationMs);
    }
  }
  const orphans: TraceRecord[] = [];
  for (const r of sorted) {
    if (r.eventName === SCOPE_START_EVENT || r.eventName === SCOPE_END_EVENT) continue;
    if (!nodes.has(r.spanId) && isSpanId(r.spanId)) {
      // Another SDK's span: known from its records alone; sorted, so this is its first.
      Object.assign(node(r), { name: `span ${r.spanId}`, status: 'unknown', startUnixNano: r.timeUnixNano });
    }
    const n = nodes.get(r.spanId);
    if (n) n.records.push(r);
    else orphans.push(r);
  }
  const roots: ScopeNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.parentSpanId ? nodes.get(n.parentSpanId) : undefined;
    if (parent && parent !== n) parent.children.push(n);
    else roots.push(n);
  }
  const byStart = (a: ScopeNode, b: ScopeNode) =>
    compareNanos(a.startUnixNano ?? '0', b.startUnixNano ?? '0');
  for (const n of nodes.values()) n.children.sort(byStart);
  roots.sort(byStart);
  return { roots, orphans, clockNotes: clockNotes(nodes.values()) };
}

/** A called scope may start this much before its caller before its clock is said to be behind. */
const CLOCK_TOLERANCE_NS = 1_000_000n;

/** For each pair of services, the largest lead of a called scope over its caller (see ScopeTree.clockNotes). */
function clockNotes(nodes: Iterable<ScopeNode>): string[] {
  const byPair = new Map<string, { lead: bigint; called: ScopeNode; caller: ScopeNode }>();
  const all = [...nodes];
  const bySpan = new Map(all.map((n) => [n.spanId, n]));
  for (const n of all) {
    const caller = n.parentSpanId ? bySpan.get(n.parentSpanId) : undefined;
    if (!caller || caller.service === n.service || !caller.startUnixNano || !n.startUnixNano) continue;
    const lead = BigInt(caller.startUnixNano) - BigInt(n.startUnixNano);
    if (lead <= CLOCK_TOLERANCE_NS) continue;
    const key = `${n.service}\u0000${caller.service}`;
    const seen = byPair.get(key);
    if (!seen || lead > seen.lead) byPair.set(key, { lead, called: n, caller });
  }
  return [...byPair.values()].map(
    ({ lead, called, caller }) =>
      `${called.service}'s clock is at least ${formatMs(lead)} behind ${caller.service}'s: ` +
      `"${called.name}" [${called.service}] starts before "${caller.name}" [${caller.service}], which called it ` +
      '(times are shown as each host recorded them)',
  );
}

function formatMs(ns: bigint): string {
  const ms = Number(ns) / 1e6;
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms >= 10 ? Math.round(ms) : ms.toFixed(1)} ms`;
}

/** An indented text picture of the tree, one scope per line (what `distlog tree` prints). */
export function renderScopeTree(tree: ScopeTree, options: { durations?: boolean } = {}): string {
  const lines: string[] = [];
  const walk = (n: ScopeNode, prefix: string, last: boolean, root: boolean) => {
    const branch = root ? '' : last ? '└─ ' : '├─ ';
    const duration = options.durations && n.durationMs !== undefined ? ` ${n.durationMs} ms` : '';
    const status = statusText(n, '');
    lines.push(`${prefix}${branch}${n.name} [${n.service}]${duration}${status}`);
    const childPrefix = root ? prefix : prefix + (last ? '   ' : '│  ');
    n.children.forEach((c, i) => walk(c, childPrefix, i === n.children.length - 1, false));
  };
  tree.roots.forEach((r) => walk(r, '', true, true));
  return lines.join('\n');
}

/** What a line says of a scope's outcome: ✗ and the error, … while it runs, nothing otherwise. */
export function statusText(n: ScopeNode, unnamedError: string): string {
  return n.status === 'error' ? ` ✗ ${n.error ?? unnamedError}` : n.status === 'running' ? ' …' : '';
}

/** A span id that names a span: not empty, not all zeros (OTLP's "no span"). */
function isSpanId(spanId: string): boolean {
  return spanId !== '' && !/^0+$/.test(spanId);
}

function compareNanos(a: string, b: string): number {
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : a > b ? 1 : 0;
}

function startFromEnd(endNanos: string, durationMs: number | undefined): string | undefined {
  if (durationMs === undefined) return undefined;
  return (BigInt(endNanos) - BigInt(Math.round(durationMs * 1e6))).toString();
}
