import { parseArgs } from 'node:util';
import type { Command } from './commands';
import { UsageError } from './settings';
import type { ApiRecord, ApiLevelInstance, ApiLevelRule } from '../shared/api-types';
import type { TraceResult } from '../server/queries';
import type { MetricDefinition, MetricResult } from '../server/metrics';
import type { PatternsResult } from '../server/patterns';
import type { ScopeNode } from '../trace/scope-tree';
import { renderScopeTree } from '../trace/scope-tree';

/** The console verbs read through the query API (DISTLOG_API, default http://127.0.0.1:4320). */
const FILTER_OPTIONS = {
  service: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  tier: { type: 'string', multiple: true },
  attr: { type: 'string', multiple: true },
  has: { type: 'string', multiple: true },
  'min-severity': { type: 'string' },
  text: { type: 'string' },
  regex: { type: 'string' },
  trace: { type: 'string' },
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  limit: { type: 'string' },
  before: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
  'on-error': { type: 'boolean' },
} as const;

type Flags = ReturnType<typeof parseFlags>['values'];

function parseFlags(args: string[], usage: string) {
  try {
    return parseArgs({ args, options: FILTER_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${usage}`);
  }
}

function apiBase(flags: Flags): string {
  return (flags.api ?? process.env.DISTLOG_API ?? 'http://127.0.0.1:4320').replace(/\/+$/, '');
}

/** The filter flags, and the positional words as a query in the search language (`q`). */
function filterParams(flags: Flags, positionals: string[] = []): URLSearchParams {
  const p = new URLSearchParams();
  const query = positionals.join(' ').trim();
  if (query) p.set('q', query);
  for (const s of flags.service ?? []) p.append('service', s);
  for (const s of flags.scope ?? []) p.append('scope', s);
  for (const s of flags.tier ?? []) p.append('tier', s);
  for (const s of flags.attr ?? []) p.append('attr', s);
  for (const s of flags.has ?? []) p.append('has', s);
  if (flags['min-severity']) p.set('minSeverity', flags['min-severity']);
  if (flags.text) p.set('text', flags.text);
  if (flags.regex) p.set('regex', flags.regex);
  if (flags.trace) p.set('traceId', flags.trace);
  if (flags.since) p.set('since', flags.since);
  if (flags.from) p.set('from', flags.from);
  if (flags.to) p.set('to', flags.to);
  return p;
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { headers: authHeaders() });
  } catch (err) {
    throw new Error(
      `cannot reach the Distlog API at ${new URL(url).origin} (${(err as Error).message}); is \`distlog up\` running? Set DISTLOG_API otherwise`,
      { cause: err },
    );
  }
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const LEVEL_COLOR: Array<[number, number]> = [
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
  return `${paint(90, r.time.replace('T', ' ').slice(0, 23))} ${paint(color, (r.severityText || 'UNSET').padEnd(5))} ${paint(36, r.service)}${r.scope ? paint(90, '/' + r.scope) : ''}: ${r.body}${tail}${trace}`;
}

/** The `--json` line: one object per record with the documented fields. */
export function jsonRecord(r: ApiRecord): string {
  const { id: _id, ...rest } = r;
  return JSON.stringify({ ...rest, id: _id });
}

export const search: Command = {
  summary:
    "search records: a query ('severity>=warn service:orders timeout') and/or filters (--service --since …)",
  usage:
    "distlog search ['QUERY'] [--service NAME]… [--min-severity LEVEL] [--scope NAME] [--text S] [--regex RE] [--attr K=V]… [--has K] [--trace ID] [--tier T] [--since 15m | --from T --to T] [--limit N] [--json]",
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const params = filterParams(flags, positionals);
    params.set('limit', flags.limit ?? '100');
    if (!params.has('since') && !params.has('from')) params.set('since', '15m');
    const page = await getJson<{ records: ApiRecord[] }>(`${apiBase(flags)}/api/search?${params}`);
    // Newest first from the API; a console reads oldest to newest.
    for (const r of [...page.records].reverse())
      process.stdout.write((flags.json ? jsonRecord(r) : prettyRecord(r)) + '\n');
    return 0;
  },
};

export const tail: Command = {
  summary: 'follow new records live, coloured (same filters as search)',
  usage: "distlog tail ['QUERY'] [filters as for search] [--json]",
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const url = `${apiBase(flags)}/api/tail?${filterParams(flags, positionals)}`;
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    let res: Response;
    try {
      res = await fetch(url, { signal: controller.signal, headers: authHeaders() });
    } catch (err) {
      throw new Error(
        `cannot reach the Distlog API (${(err as Error).message}); is \`distlog up\` running?`,
        {
          cause: err,
        },
      );
    }
    if (!res.ok || !res.body)
      throw new Error(((await res.json()) as { error?: string }).error ?? `HTTP ${res.status}`);
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += Buffer.from(chunk).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          if (event.startsWith('event: problem')) {
            // Why nothing can arrive (no collector reachable): said, not silently waited on.
            process.stderr.write(`distlog tail: ${(JSON.parse(data.slice(6)) as { error: string }).error}\n`);
            continue;
          }
          if (event.startsWith('event: ')) continue; // status
          const r = JSON.parse(data.slice(6)) as ApiRecord;
          process.stdout.write((flags.json ? jsonRecord(r) : prettyRecord(r)) + '\n');
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
    return 0;
  },
};

export const tree: Command = {
  summary: "print a request's scope tree across services, with each scope's records",
  usage: 'distlog tree TRACE_ID [--json]',
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const [traceId] = positionals;
    if (!traceId) throw new UsageError(`a TRACE_ID is needed\nusage: ${this.usage}`);
    const result = await getJson<TraceResult>(`${apiBase(flags)}/api/trace/${encodeURIComponent(traceId)}`);
    if (flags.json) {
      process.stdout.write(JSON.stringify(result.tree) + '\n');
      return 0;
    }
    if (result.records.length === 0) {
      process.stderr.write(`no records of trace ${traceId}\n`);
      return 1;
    }
    process.stdout.write(
      `trace ${traceId}: ${result.records.length} records from ${result.services.join(', ')}\n`,
    );
    process.stdout.write(renderWithRecords(result) + '\n');
    return 0;
  },
};

function renderWithRecords(result: TraceResult): string {
  const lines: string[] = [];
  const walk = (n: ScopeNode, prefix: string, last: boolean, root: boolean) => {
    const branch = root ? '' : last ? '└─ ' : '├─ ';
    const status =
      n.status === 'error' ? paint(31, ` ✗ ${n.error ?? 'error'}`) : n.status === 'running' ? ' …' : '';
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
    lines.push(paint(90, 'outside any scope:'));
    for (const r of result.tree.orphans) lines.push(`  ${r.service}: ${r.body}`);
  }
  return lines.join('\n');
}

export const context: Command = {
  summary: 'show the records just before and after one record (same service and instance)',
  usage: 'distlog context RECORD_ID [--before N] [--after N] [--json]',
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const [id] = positionals;
    if (!id)
      throw new UsageError(`a RECORD_ID (the "id" of a --json record) is needed\nusage: ${this.usage}`);
    const q = new URLSearchParams({ before: flags.before ?? '10', after: flags.after ?? '10' });
    const result = await getJson<{ record: ApiRecord; before: ApiRecord[]; after: ApiRecord[] }>(
      `${apiBase(flags)}/api/context/${encodeURIComponent(id)}?${q}`,
    );
    const show = (r: ApiRecord, mark: string) =>
      process.stdout.write((flags.json ? jsonRecord(r) : `${mark} ${prettyRecord(r)}`) + '\n');
    for (const r of result.before) show(r, ' ');
    show(result.record, paint(1, '>'));
    for (const r of result.after) show(r, ' ');
    return 0;
  },
};

type ApiRule = ApiLevelRule;
type ApiInstance = ApiLevelInstance;

const LEVEL_OPTIONS = {
  service: { type: 'string' },
  logger: { type: 'string' },
  for: { type: 'string' },
  until: { type: 'string' },
  id: { type: 'string' },
  by: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
  'on-error': { type: 'boolean' },
} as const;

async function levelRequest<T>(base: string, method: string, query = '', body?: object): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}/api/levels${query}`, {
      method,
      headers: { ...authHeaders(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new Error(
      `cannot reach the Distlog API at ${base} (${(err as Error).message}); is \`distlog up\` running?`,
      { cause: err },
    );
  }
  const json = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

export const level: Command = {
  summary:
    'change log levels at run time: `level set|list|clear` (e.g. DEBUG for one logger of one service, for 15 minutes)',
  usage:
    'distlog level set LEVEL [--service NAME] [--logger PATTERN] [--for 15m | --until TIME] [--on-error]\n' +
    '       (--on-error: DEBUG/TRACE is generated but held in each process, and sent only for the\n' +
    '        requests (traces) that fail there)\n' +
    '       distlog level list [--json]\n' +
    '       distlog level clear (--id ID | --service NAME [--logger PATTERN])',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: LEVEL_OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${this.usage}`);
    }
    const { values: flags, positionals } = parsed;
    const base = (flags.api ?? process.env.DISTLOG_API ?? 'http://127.0.0.1:4320').replace(/\/+$/, '');
    const [sub, levelName] = positionals;
    const by = flags.by ?? process.env.USER ?? 'cli';
    if (sub === 'set') {
      if (!levelName)
        throw new UsageError(
          `a LEVEL is needed (trace, debug, info, warn, error, fatal, silent)\nusage: ${this.usage}`,
        );
      const { rule } = await levelRequest<{ rule: ApiRule }>(base, 'POST', '', {
        service: flags.service ?? '*',
        logger: flags.logger ?? '*',
        level: levelName,
        ...(flags.for ? { for: flags.for } : {}),
        ...(flags.until ? { expiresAt: flags.until } : {}),
        ...(flags['on-error'] ? { onError: true } : {}),
        setBy: by,
      });
      process.stdout.write(
        `rule ${rule.id}: ${rule.service} / ${rule.logger} → ${rule.level}${rule.onError ? ', held and sent only when a request fails' : ''}${rule.expiresAt ? ` until ${rule.expiresAt}` : ' (no expiry)'}\n`,
      );
      return 0;
    }
    if (sub === 'list') {
      const { rules, instances } = await levelRequest<{ rules: ApiRule[]; instances: ApiInstance[] }>(
        base,
        'GET',
      );
      if (flags.json) {
        process.stdout.write(JSON.stringify({ rules, instances }) + '\n');
        return 0;
      }
      const lines = ['rules:'];
      if (rules.length === 0) lines.push('  (none)');
      for (const r of rules) {
        lines.push(
          `  ${r.id}  ${r.service} / ${r.logger} → ${r.level}${r.onError ? ' ON ERROR (held until a request fails)' : ''}${r.expiresAt ? `  until ${r.expiresAt}` : ''}  (set by ${r.setBy} at ${r.setAt})`,
        );
      }
      lines.push('processes:');
      if (instances.length === 0) lines.push('  (none connected)');
      for (const i of instances) {
        if (i.connected === false) {
          lines.push(
            `  ${i.service} ${i.instance}  NOT CONNECTED: sends logs (last ${i.lastSeenAt}) but does not follow level rules — see its stderr`,
          );
          continue;
        }
        lines.push(`  ${i.service} ${i.instance}${i.collector ? `  via ${i.collector}` : ''}`);
        for (const [name, l] of Object.entries(i.loggers)) {
          lines.push(
            `    ${name.padEnd(24)} ${l.level.padEnd(6)} configured ${l.configured ?? '-'}${l.rule ? `  by rule ${l.rule}` : ''}${l.onError ? '  held until an error' : ''}`,
          );
        }
      }
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    }
    if (sub === 'clear') {
      const q = new URLSearchParams();
      if (flags.id) q.set('id', flags.id);
      if (flags.service) q.set('service', flags.service);
      if (flags.logger) q.set('logger', flags.logger);
      if ([...q.keys()].length === 0)
        throw new UsageError(
          `name the rules to clear: --id, or --service and/or --logger\nusage: ${this.usage}`,
        );
      q.set('by', by);
      const { removed } = await levelRequest<{ removed: ApiRule[] }>(base, 'DELETE', `?${q}`);
      process.stdout.write(`cleared ${removed.length} rule${removed.length === 1 ? '' : 's'}\n`);
      return 0;
    }
    throw new UsageError(`unknown level command ${JSON.stringify(sub ?? '')}\nusage: ${this.usage}`);
  },
};

export { renderScopeTree };

/** DISTLOG_TOKEN (a user token from auth.users) as a bearer header; never a command-line flag. */
function authHeaders(): Record<string, string> {
  const token = process.env.DISTLOG_TOKEN?.trim();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

const METRIC_OPTIONS = {
  since: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  by: { type: 'string', multiple: true },
  where: { type: 'string', multiple: true },
  step: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
} as const;

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

const stepText = (seconds: number) =>
  seconds % 86_400 === 0
    ? `${seconds / 86_400} d`
    : seconds % 3600 === 0
      ? `${seconds / 3600} h`
      : `${seconds / 60} min`;

const fmt = (n: number | null | undefined) =>
  n === null || n === undefined
    ? ''
    : Number.isInteger(n)
      ? String(n)
      : n.toPrecision(4).replace(/\.?0+$/, '');

export const metrics: Command = {
  summary:
    'declared metrics: list them, or one over time (--since 7d --by service.name --where scope.name=checkout)',
  usage:
    'distlog metrics [NAME [--since 24h | --from T --to T] [--by FIELD]… [--where FIELD=VALUE]… [--step 1h] [--limit N]] [--json]',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: METRIC_OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${this.usage}`);
    }
    const { values: flags, positionals } = parsed;
    const base = (flags.api ?? process.env.DISTLOG_API ?? 'http://127.0.0.1:4320').replace(/\/+$/, '');
    if (positionals.length > 1) throw new UsageError(`one metric at a time\nusage: ${this.usage}`);
    if (positionals.length === 0) {
      const { metrics: list } = await getJson<{ metrics: MetricDefinition[] }>(`${base}/api/metrics`);
      if (flags.json) {
        for (const m of list) process.stdout.write(JSON.stringify(m) + '\n');
        return 0;
      }
      if (list.length === 0) {
        process.stdout.write('no metrics declared yet (metrics: in the collector configuration)\n');
        return 0;
      }
      process.stdout.write(
        textTable(
          ['NAME', 'KIND', 'VALUE', 'BY', 'KEPT', 'DESCRIPTION'],
          list.map((m) => [m.name, m.kind, m.value, m.by.join(', '), `${m.retentionDays} d`, m.description]),
        ) + '\n',
      );
      return 0;
    }
    const p = new URLSearchParams();
    if (flags.since) p.set('since', flags.since);
    if (flags.from) p.set('from', flags.from);
    if (flags.to) p.set('to', flags.to);
    for (const b of flags.by ?? []) p.append('by', b);
    for (const w of flags.where ?? []) p.append('where', w);
    if (flags.step) p.set('step', flags.step);
    if (flags.limit) p.set('limit', flags.limit);
    const result = await getJson<MetricResult>(
      `${base}/api/metrics/${encodeURIComponent(positionals[0])}?${p}`,
    );
    if (flags.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
      return 0;
    }
    const { metric } = result;
    const values =
      metric.kind === 'distribution'
        ? ['COUNT', 'P50', 'P95', 'P99']
        : metric.kind === 'sum'
          ? ['COUNT', 'SUM']
          : ['COUNT'];
    const rows = result.series.flatMap((s) =>
      s.points.map((pt) => [
        new Date(pt.t).toISOString().slice(0, 16).replace('T', ' '),
        ...result.by.map((f) => s.labels[f]),
        String(pt.count),
        ...(metric.kind === 'distribution'
          ? [fmt(pt.p50), fmt(pt.p95), fmt(pt.p99)]
          : metric.kind === 'sum'
            ? [fmt(pt.sum)]
            : []),
      ]),
    );
    const unit = metric.unit ? ` (${metric.unit})` : '';
    process.stdout.write(
      `${metric.name}${unit}: ${metric.kind}${metric.value ? ` of ${metric.value}` : ''}, step ${stepText(result.stepSeconds)}, from ${result.table}` +
        (metric.kind === 'distribution' ? ` (quantiles within ${Math.round(result.accuracy * 100)} %)` : '') +
        '\n',
    );
    process.stdout.write(
      textTable(['TIME (UTC)', ...result.by.map((f) => f.toUpperCase()), ...values], rows) + '\n',
    );
    if (result.omittedSeries > 0)
      process.stdout.write(`… and ${result.omittedSeries} smaller groups (--limit, --where)\n`);
    return 0;
  },
};

const spark = (values: number[]) => {
  const max = Math.max(1, ...values);
  return values.map((v) => (v === 0 ? ' ' : '▁▂▃▄▅▆▇█'[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
};

export const patterns: Command = {
  summary: 'log patterns: the records of a query grouped by message template, new ones first with --new',
  usage:
    "distlog patterns ['QUERY'] [filters as for search] [--since 1h] [--new] [--errors] [--limit N] [--json]  (then: distlog search 'pattern:ID')",
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: { ...FILTER_OPTIONS, new: { type: 'boolean' }, errors: { type: 'boolean' } },
        allowPositionals: true,
        strict: true,
      });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${this.usage}`);
    }
    const { values: flags, positionals } = parsed;
    const params = filterParams(flags as Flags, positionals);
    if (!params.has('since') && !params.has('from')) params.set('since', '1h');
    params.set('limit', flags.limit ?? '30');
    if (flags.new) params.set('new', 'true');
    if (flags.errors) params.set('sort', 'errors');
    const result = await getJson<PatternsResult>(`${apiBase(flags as Flags)}/api/patterns?${params}`);
    if (flags.json) {
      for (const p of result.patterns) process.stdout.write(JSON.stringify(p) + '\n');
      return 0;
    }
    process.stdout.write(
      `${result.records} records, ${result.distinct} patterns; sparkline: ${stepText(Math.round(result.stepMs / 1000))} a character\n`,
    );
    process.stdout.write(
      textTable(
        ['ID', 'COUNT', 'ERRORS', 'NEW', 'LAST SEEN', 'SPARKLINE', 'SERVICES', 'PATTERN'],
        result.patterns.map((p) => [
          p.id,
          String(p.count),
          String(p.errors),
          p.isNew ? 'new' : '',
          p.lastSeen.slice(0, 19).replace('T', ' '),
          spark(p.sparkline),
          p.services.join(','),
          p.template.length > 100 ? p.template.slice(0, 99) + '…' : p.template,
        ]),
      ) + '\n',
    );
    return 0;
  },
};
