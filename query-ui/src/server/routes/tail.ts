import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseFilter } from '../filters';
import type { Queries } from '../queries';
import type { ApiRecord } from '../records';
import { recordFilter } from '../record-filter';
import type { TailFeed } from '../tail-feed';
import type { Query } from './common';
import { FILTER_PROPERTIES, querystring, readable } from './common';

export function registerTailRoute(app: FastifyInstance, feed: TailFeed, queries: Queries): void {
  app.get('/api/tail', querystring(FILTER_PROPERTIES), (req, reply) => tail(req, reply, feed, queries));
}

/**
 * Live tail over server-sent events: the last matching records once (one query when the
 * tail opens), then the records pushed from the collectors (TailFeed) that match the
 * viewer's filter, as they are acknowledged — nothing more is read from ClickHouse.
 * `event: status` says which collectors are connected (and which cannot be reached) when
 * the stream opens and whenever that changes; `event: problem` says why nothing can arrive.
 */
function tail(req: FastifyRequest, reply: FastifyReply, feed: TailFeed, queries: Queries): void {
  const filter = readable(req, parseFilter({ ...(req.query as Query), since: '1m' }));
  const matches = recordFilter(filter);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  res.write(': distlog live tail\n\n');
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let lastStatus = '';
  const status = () => {
    const problem = feed.problem();
    const notice = JSON.stringify(problem ? { error: problem } : feed.notice());
    if (notice === lastStatus) return;
    lastStatus = notice;
    res.write(`event: ${problem ? 'problem' : 'status'}\ndata: ${notice}\n\n`);
  };
  const statusTimer = setInterval(status, 2000);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
  req.raw.on('close', () => {
    closed = true;
    clearInterval(statusTimer);
    clearInterval(keepAlive);
    unsubscribe?.();
  });
  // Pushed records wait while the backlog is read, so that they follow it in order.
  let waiting: ApiRecord[] | undefined = [];
  const send = (r: ApiRecord) => res.write(`data: ${JSON.stringify(r)}\n\n`);
  void feed
    .subscribe((records) => {
      for (const r of records) {
        if (!matches(r)) continue;
        if (waiting) waiting.push(r);
        else send(r);
      }
    })
    .then(async (stop) => {
      if (closed) return stop();
      unsubscribe = stop;
      // The backlog: what matched in the last BACKLOG_MS, read once when the tail opens (the
      // stream itself reads nothing from ClickHouse); a record also pushed meanwhile is sent once.
      const sent = new Set<string>();
      try {
        const since = BigInt(Date.now() - BACKLOG_MS) * 1_000_000n;
        const backlog = await queries.since(
          { ...filter, fromMs: Date.now() - BACKLOG_MS - 1000, toMs: Date.now() + 60_000 },
          since,
          1000,
        );
        for (const r of backlog.slice(-BACKLOG_RECORDS)) {
          sent.add(r.id);
          send(r);
        }
      } catch (err) {
        res.write(
          `event: problem\ndata: ${JSON.stringify({ error: `the last records could not be read: ${(err as Error).message}` })}\n\n`,
        );
      }
      for (const r of waiting ?? []) if (!sent.has(r.id)) send(r);
      waiting = undefined;
      status();
    });
}

/** What a tail shows when it opens: the matching records of the last 10 s, at most 200. */
const BACKLOG_MS = 10_000;
const BACKLOG_RECORDS = 200;
