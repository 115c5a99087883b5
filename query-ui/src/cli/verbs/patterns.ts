import { parseArgs } from 'node:util';
import { UsageError } from '../settings';
import type { PatternsResult } from '../../server/patterns';
import type { Command } from '../command';
import type { Flags } from '../api-client';
import { FILTER_OPTIONS, apiBase, filterParams, getJson } from '../api-client';
import { textTable, stepText, spark } from '../format';

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
