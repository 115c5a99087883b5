import type { ApiRecord } from '../../shared/api-types';
import type { Command } from '../command';
import { parseFlags, apiBase, filterParams, authHeaders, apiAnswer } from '../api-client';
import { prettyRecord, jsonRecord } from '../format';
import { RecentKeys } from '../../shared/recent-keys';

export const tail: Command = {
  summary: 'follow new records live, coloured (same filters as search); says on stderr once it is live',
  usage: "distlog tail ['QUERY'] [filters as for search] [--json]",
  async run(args) {
    const { values: flags, positionals } = parseFlags(args, this.usage);
    const base = apiBase(flags);
    const url = `${base}/api/tail?${filterParams(flags, positionals)}`;
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    let live = 0;
    const printed = new RecentKeys(10_000);
    // Set while the API is away (a restart of `distlog up`, a network cut): tail keeps trying,
    // as `tail -F` does, and says what it could not show once it is back.
    let lostAt: Date | undefined;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { signal: controller.signal, headers: authHeaders() });
      } catch (err) {
        if (controller.signal.aborted) return 0;
        if (lostAt === undefined)
          throw new Error(
            `cannot reach the Distlog API (${(err as Error).message}); is \`distlog up\` running?`,
            { cause: err },
          );
        await pause(Math.min(5_000, 250 * 2 ** attempt), controller.signal);
        continue;
      }
      if (lostAt !== undefined && res.status >= 500) {
        // Still starting, or a proxy in front of it still has no server: as unreachable.
        await res.body?.cancel();
        await pause(Math.min(5_000, 250 * 2 ** attempt), controller.signal);
        continue;
      }
      if (!res.ok || !res.body || !res.headers.get('content-type')?.startsWith('text/event-stream')) {
        await apiAnswer(res, url);
        throw new Error(`HTTP ${res.status}`);
      }
      if (lostAt !== undefined) {
        const from = lostAt.toISOString();
        const to = new Date().toISOString();
        process.stderr.write(
          `distlog tail: back; what was stored from ${from} to ${to} is not shown here: ` +
            `distlog search ${searchArgs(args).map(shellWord).join(' ')} --from ${from} --to ${to}`.replace(
              / +/g,
              ' ',
            ) +
            '\n',
        );
        attempt = 0;
      }
      let reason = 'the stream ended';
      try {
        live = await follow(
          res.body as unknown as AsyncIterable<Uint8Array>,
          flags.json === true,
          live,
          printed,
        );
      } catch (err) {
        reason = (err as Error).message;
      }
      if (controller.signal.aborted) return 0;
      lostAt = new Date();
      live = 0;
      process.stderr.write(`distlog tail: lost the Distlog API at ${base} (${reason}); reconnecting…\n`);
    }
  },
};

/** Prints the records of one tail stream until it ends; returns the collectors it was live from. */
async function follow(
  body: AsyncIterable<Uint8Array>,
  json: boolean,
  liveBefore: number,
  printed: RecentKeys,
): Promise<number> {
  let buffer = '';
  let live = liveBefore;
  for await (const chunk of body) {
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
      // A tail opened again starts with the last seconds' records: those shown already are not shown twice.
      if (!printed.add(`${r.id}\u0000${r.body}`)) continue;
      process.stdout.write((json ? jsonRecord(r) : prettyRecord(r)) + '\n');
    }
  }
  return live;
}

/** tail's arguments as search's for a time range: without --json, --since. */
function searchArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--json' || args[i].startsWith('--since=')) continue;
    if (args[i] === '--since') {
      i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}

/** A word as a shell reads it back: quoted when it holds anything but plain characters. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
