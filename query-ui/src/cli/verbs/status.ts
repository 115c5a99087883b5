import type { ApiStatus } from '../../shared/api-types';
import type { Command } from '../command';
import { parseFlags, apiBase, getJson } from '../api-client';
import { textTable } from '../format';

export const status: Command = {
  summary:
    'the running collectors: version, uptime, readiness, spool and set-aside batches, records; exit 1 when something needs acting on',
  usage: 'distlog status [--json]',
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    if (positionals.length > 0) process.stderr.write(`distlog status: ignoring ${positionals.join(' ')}\n`);
    const result = await getJson<ApiStatus>(`${apiBase(flags)}/api/status`);
    if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
    else process.stdout.write(render(result));
    for (const p of result.problems) process.stderr.write(`distlog status: ${p}\n`);
    return result.problems.length > 0 ? 1 : 0;
  },
};

function render(result: ApiStatus): string {
  const header = [
    'COLLECTOR',
    'ADDRESS',
    'VERSION',
    'UP',
    'READY',
    'SPOOL',
    'SET ASIDE',
    'RECEIVED',
    'REFUSED',
    'STORED',
    'SENDERS',
  ];
  const rows = result.collectors.map(({ id, url, status: s, error }) =>
    s
      ? [
          id,
          url,
          s.version,
          duration(s.uptimeSeconds),
          s.ready ? 'yes' : 'NO',
          s.spool ? String(s.spool.batches) : '-',
          s.spool ? String(s.spool.setAsideBatches) : '-',
          String(s.records.received),
          String(s.records.refused),
          String(s.records.stored),
          String(s.processes),
        ]
      : [id, url, '?', '?', `no answer: ${error}`, '', '', '', '', '', ''],
  );
  if (rows.length === 0) return 'no running collector\n';
  return textTable(header, rows) + '\n';
}

/** 3725 → `1h 02m`; 90 → `1m 30s`. */
function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d > 0) return `${d}d ${String(h).padStart(2, '0')}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  return `${m}m ${String(s).padStart(2, '0')}s`;
}
