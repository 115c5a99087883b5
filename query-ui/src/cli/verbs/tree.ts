import { UsageError } from '../settings';
import type { TraceResult } from '../../server/queries';
import type { Command } from '../command';
import { parseFlags, apiBase, getJson } from '../api-client';
import { renderWithRecords } from '../format';

export const tree: Command = {
  summary: "print a request's scope tree across services, with each scope's records",
  usage: 'distlog tree TRACE_ID [--json]',
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const [traceId] = positionals;
    if (!traceId) throw new UsageError(`a TRACE_ID is needed\nusage: ${this.usage}`);
    if (!/^[0-9a-fA-F]{32}$/.test(traceId))
      throw new UsageError(
        `a trace id is 32 hexadecimal characters (as \`distlog search\` prints after trace=), got ${JSON.stringify(traceId)}`,
      );
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
