import type { ReactNode } from 'react';
import { useEffect, useState } from 'react';
import type { ScopeNode, TraceResult } from './api';
import { getJson, severityClass } from './api';
import { navigate } from './url';

/**
 * "Follow this request": the scope tree of one trace across services, like eliot-tree,
 * with durations (a bar on the request's time line), errors highlighted, and each
 * scope's records inline.
 */
export function TracePage(props: { traceId: string }): ReactNode {
  const [trace, setTrace] = useState<TraceResult | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setTrace(undefined);
    getJson<TraceResult>(`/api/trace/${props.traceId}`).then(setTrace, (err: Error) => setError(err.message));
  }, [props.traceId]);
  if (error)
    return (
      <div className="error" role="alert">
        {error}
      </div>
    );
  if (!trace) return <div className="muted">loading trace {props.traceId}…</div>;
  const starts = collect(trace.tree.roots).map((n) => Number(BigInt(n.startUnixNano ?? '0') / 1000n));
  const t0 = Math.min(...starts.filter((s) => s > 0));
  const t1 = Math.max(
    ...collect(trace.tree.roots).map(
      (n) => Number(BigInt(n.startUnixNano ?? '0') / 1000n) + (n.durationMs ?? 0) * 1000,
    ),
  );
  const span = Math.max(1, t1 - t0);
  return (
    <div className="trace" data-testid="trace">
      <h2>
        Trace <code>{trace.traceId}</code>
      </h2>
      <p className="muted">
        {trace.records.length} records from {trace.services.join(', ')} · tiers {trace.tiers.join(', ')} ·{' '}
        <button className="link" onClick={() => navigate(`/?traceId=${trace.traceId}&since=30d`)}>
          all records of this trace in search
        </button>
      </p>
      {trace.tree.clockNotes?.map((note) => (
        <p className="sev-warn" key={note} data-testid="clock-note">
          {note}
        </p>
      ))}
      <div className="tree" data-testid="scope-tree">
        {trace.tree.roots.map((n) => (
          <Scope key={n.spanId} node={n} depth={0} t0={t0} span={span} traceId={trace.traceId} />
        ))}
      </div>
      {trace.tree.orphans.length > 0 && (
        <>
          <h4>Outside any span</h4>
          {trace.tree.orphans.map((r, i) => (
            <div key={i} className={`record ${severityClass(r.severityNumber)}`}>
              {r.service}: {r.body}
            </div>
          ))}
        </>
      )}
    </div>
  );
}

function collect(nodes: ScopeNode[]): ScopeNode[] {
  return nodes.flatMap((n) => [n, ...collect(n.children)]);
}

function Scope(props: {
  node: ScopeNode;
  depth: number;
  t0: number;
  span: number;
  traceId: string;
}): ReactNode {
  const { node: n, depth, t0, span } = props;
  const startUs = Number(BigInt(n.startUnixNano ?? '0') / 1000n);
  const left = Math.max(0, ((startUs - t0) / span) * 100);
  const width = Math.max(0.5, (((n.durationMs ?? 0) * 1000) / span) * 100);
  return (
    <div
      className="scope"
      data-testid="scope"
      data-service={n.service}
      data-name={n.name}
      data-status={n.status}
    >
      <div className={`scope-head ${n.status === 'error' ? 'failed' : ''}`}>
        <span className="scope-name" style={{ paddingLeft: depth * 18 }} title={n.name}>
          {n.name}
        </span>
        <span className="scope-svc">{n.service}</span>
        <span className="scope-dur">
          {n.durationMs !== undefined ? `${n.durationMs} ms` : n.status === 'running' ? 'running' : ''}
        </span>
        <span className="scope-err">{n.status === 'error' ? `✗ ${n.error}` : ''}</span>
        <span className="timeline">
          <i
            style={{ left: `${left}%`, width: `${Math.min(100 - left, width)}%` }}
            className={n.status === 'error' ? 'failed' : ''}
          />
        </span>
        <button
          className="link"
          title="search the records of this scope"
          onClick={() => navigate(`/?traceId=${props.traceId}&spanId=${n.spanId}&since=30d`)}
        >
          search
        </button>
      </div>
      {inTimeOrder(n).map((item) =>
        item.record ? (
          <div
            key={`r${item.index}`}
            className={`record ${severityClass(item.record.severityNumber)}`}
            style={{ paddingLeft: depth * 18 + 22 }}
            data-testid="scope-record"
          >
            <span className="offset" title="since the start of the trace">
              +{((Number(item.at / 1000n) - t0) / 1000).toFixed(1)} ms
            </span>{' '}
            <span className="muted">{item.record.scope}</span> {item.record.body}
          </div>
        ) : (
          <Scope
            key={item.child!.spanId}
            node={item.child!}
            depth={depth + 1}
            t0={t0}
            span={span}
            traceId={props.traceId}
          />
        ),
      )}
    </div>
  );
}

/** A scope's own records and its child scopes, in the order they happened. */
type TraceRecord = ScopeNode['records'][number];

function inTimeOrder(
  n: ScopeNode,
): Array<{ at: bigint; index: number; record?: TraceRecord; child?: ScopeNode }> {
  const items = [
    ...n.records.map((record, index) => ({ at: BigInt(record.timeUnixNano), index, record })),
    ...n.children.map((child, index) => ({ at: BigInt(child.startUnixNano ?? '0'), index, child })),
  ];
  // Stable: at the same instant a record stays before the scope it started.
  return items.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}
