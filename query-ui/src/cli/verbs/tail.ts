import type { ApiRecord } from '../../shared/api-types';
import type { Command } from '../command';
import { parseFlags, apiBase, filterParams, authHeaders } from '../api-client';
import { prettyRecord, jsonRecord } from '../format';

export const tail: Command = {
  summary: 'follow new records live, coloured (same filters as search); says on stderr once it is live',
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
    let live = 0;
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
          if (event.startsWith('event: status')) {
            // Said once it is live, and again when the number of collectors changes.
            const connected = (JSON.parse(data.slice(6)) as { connected?: string[] }).connected?.length ?? 0;
            if (connected > 0 && connected !== live) {
              process.stderr.write(
                `distlog tail: live from ${connected} collector${connected === 1 ? '' : 's'}\n`,
              );
            }
            live = connected;
            continue;
          }
          if (event.startsWith('event: ')) continue;
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
