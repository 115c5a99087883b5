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
  return { roots, orphans };
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
