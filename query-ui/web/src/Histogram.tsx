import type { ReactNode } from 'react';
import { SEVERITIES } from './api';

export interface Bucket {
  t: number;
  severity: string;
  count: number;
}

const COLORS: Record<string, string> = {
  TRACE: '#9aa5b1',
  DEBUG: '#5b8def',
  INFO: '#3fb27f',
  WARN: '#f0b429',
  ERROR: '#e5484d',
  FATAL: '#8e4ec6',
};

/** Volume over time, stacked by severity (SVG, no chart library). */
export function Histogram(props: {
  buckets: Bucket[];
  bucketMs: number;
  fromMs: number;
  toMs: number;
}): ReactNode {
  const { buckets, bucketMs, fromMs, toMs } = props;
  const width = 1000;
  const height = 90;
  const slots = Math.max(1, Math.ceil((toMs - fromMs) / bucketMs));
  const bySlot = new Map<number, Map<string, number>>();
  for (const b of buckets) {
    const slot = Math.floor((b.t - fromMs) / bucketMs);
    const sev = SEVERITIES.find((s) => b.severity.toUpperCase().startsWith(s)) ?? 'INFO';
    const m = bySlot.get(slot) ?? new Map<string, number>();
    m.set(sev, (m.get(sev) ?? 0) + b.count);
    bySlot.set(slot, m);
  }
  const max = Math.max(1, ...[...bySlot.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0)));
  const w = width / slots;
  const total = buckets.reduce((a, b) => a + b.count, 0);
  return (
    <div className="histogram" data-testid="histogram">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${total} records`}
      >
        {[...bySlot].map(([slot, m]) => {
          let y = height;
          return SEVERITIES.filter((s) => m.has(s)).map((s) => {
            const h = (m.get(s)! / max) * (height - 4);
            y -= h;
            return (
              <rect
                key={`${slot}-${s}`}
                x={slot * w}
                y={y}
                width={Math.max(1, w - 1)}
                height={h}
                fill={COLORS[s]}
              >
                <title>{`${new Date(fromMs + slot * bucketMs).toISOString()} ${s}: ${m.get(s)}`}</title>
              </rect>
            );
          });
        })}
      </svg>
      <div className="legend">
        {SEVERITIES.map((s) => (
          <span key={s}>
            <i style={{ background: COLORS[s] }} /> {s}
          </span>
        ))}
        <span className="muted">{total} records</span>
      </div>
    </div>
  );
}
