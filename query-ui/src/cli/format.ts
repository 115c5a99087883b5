// How the console verbs print: records, trees, tables.
import type { ApiRecord } from '../shared/api-types';
import type { TraceResult } from '../server/queries';
import type { ScopeNode } from '../trace/scope-tree';
import { statusText } from '../trace/scope-tree';
import { severityLabel } from '../shared/severity';

export const useColor = process.stdout.isTTY && !process.env.NO_COLOR;

export const paint = (code: number, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);

export const LEVEL_COLOR: Array<[number, number]> = [
  [21, 35],
  [17, 31],
  [13, 33],
  [9, 32],
  [5, 34],
  [1, 90],
];

/** One record as a pino-pretty-like line. */
export function prettyRecord(r: ApiRecord): string {
  const color = LEVEL_COLOR.find(([min]) => r.severityNumber >= min)?.[1] ?? 0;
  const attrs = Object.entries(r.attributes);
  const tail = attrs.length ? ' ' + paint(90, attrs.map(([k, v]) => `${k}=${v}`).join(' ')) : '';
  const trace = r.traceId ? paint(90, ` trace=${r.traceId}`) : '';
  return `${paint(90, r.time.replace('T', ' ').slice(0, 23))} ${paint(color, severityLabel(r.severityText, r.severityNumber).padEnd(5))} ${paint(36, r.service)}${r.scope ? paint(90, '/' + r.scope) : ''}: ${r.body}${tail}${trace}`;
}

/** The `--json` line: one object per record with the documented fields. */
export function jsonRecord(r: ApiRecord): string {
  const { id: _id, ...rest } = r;
  return JSON.stringify({ ...rest, id: _id });
}

export function renderWithRecords(result: TraceResult): string {
  const lines: string[] = [];
  const walk = (n: ScopeNode, prefix: string, last: boolean, root: boolean) => {
    const branch = root ? '' : last ? '└─ ' : '├─ ';
    const status = n.status === 'error' ? paint(31, statusText(n, 'error')) : statusText(n, 'error');
    const duration = n.durationMs !== undefined ? paint(90, ` ${n.durationMs} ms`) : '';
    lines.push(`${prefix}${branch}${paint(1, n.name)} ${paint(36, `[${n.service}]`)}${duration}${status}`);
    const inner = root ? prefix : prefix + (last ? '   ' : '│  ');
    for (const r of n.records) {
      lines.push(
        `${inner}${n.children.length ? '│  ' : '   '}${paint(90, '·')} ${r.attributes && r.severityNumber >= 17 ? paint(31, r.body) : r.body}`,
      );
    }
    n.children.forEach((c, i) => walk(c, inner, i === n.children.length - 1, false));
  };
  result.tree.roots.forEach((r) => walk(r, '', true, true));
  if (result.tree.orphans.length) {
    lines.push(paint(90, 'outside any span:'));
    for (const r of result.tree.orphans) lines.push(`  ${r.service}: ${r.body}`);
  }
  for (const note of result.tree.clockNotes ?? []) lines.push(paint(33, `note: ${note}`));
  return lines.join('\n');
}

/** Columns of a text table, left-aligned, numbers right-aligned. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]+$|^$/.test(r[i])));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** A step in the largest unit that divides it: 1 d, 6 h, 15 min, 151 s (not 2.5166… min). */
export const stepText = (seconds: number) =>
  seconds % 86_400 === 0
    ? `${seconds / 86_400} d`
    : seconds % 3600 === 0
      ? `${seconds / 3600} h`
      : seconds % 60 === 0
        ? `${seconds / 60} min`
        : `${seconds} s`;

export const fmt = (n: number | null | undefined) =>
  n === null || n === undefined
    ? ''
    : Number.isInteger(n)
      ? String(n)
      : n.toPrecision(4).replace(/\.?0+$/, '');

export const spark = (values: number[]) => {
  const max = Math.max(1, ...values);
  return values.map((v) => (v === 0 ? ' ' : '▁▂▃▄▅▆▇█'[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
};
