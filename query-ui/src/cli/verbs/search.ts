import type { ApiRecord } from '../../shared/api-types';
import type { Command } from '../command';
import { parseFlags, apiBase, filterParams, getJson } from '../api-client';
import { prettyRecord, jsonRecord } from '../format';

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
