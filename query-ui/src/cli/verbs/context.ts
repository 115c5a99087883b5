import { UsageError } from '../settings';
import type { ApiRecord } from '../../shared/api-types';
import type { Command } from '../command';
import { parseFlags, apiBase, getJson } from '../api-client';
import { paint, prettyRecord, jsonRecord } from '../format';

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
