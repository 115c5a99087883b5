import type http from 'node:http';
import type { LogRow } from '../model/log-row';
import type { Component } from '../pipeline/component';

/**
 * Live tail, pushed: the records this collector stored (in ClickHouse or its spool),
 * as they are acknowledged, to every subscriber of `GET /v1/tail` (server-sent events;
 * the query servers subscribe while someone tails). No ClickHouse query is involved, and
 * a record shows however late its timestamp is. Each event is one request's records for
 * one tier table, in the column names the query API reads (`data: [TailRecord, …]`).
 *
 * A subscriber that does not keep up (more than MAX_BUFFERED bytes waiting in its socket)
 * misses records rather than growing the collector's memory: it gets `event: dropped`
 * with how many, once it has room again.
 */
export interface TailRecord {
  tier: string;
  TimeUnixNano: string;
  SeverityNumber: number;
  SeverityText: string;
  ServiceName: string;
  ScopeName: string;
  EventName: string;
  Body: string;
  TraceId: string;
  SpanId: string;
  ak: readonly string[];
  av: readonly string[];
  rk: readonly string[];
  rv: readonly string[];
  /** PatternId (model/pattern.ts), decimal, as the query API reads the column. */
  pid?: string;
}

const MAX_BUFFERED = 8 * 1024 * 1024;

/** One request's records for one tier, as the `data:` line subscribers get. */
export interface TailEvent {
  text: string;
  records: number;
}

interface Subscriber {
  res: http.ServerResponse;
  dropped: number;
}

export class TailHub implements Component {
  private readonly subscribers = new Set<Subscriber>();

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * One request's records stored in `table`, rendered as the event subscribers get;
   * undefined without subscribers. Rendered as the request is routed (its records are not
   * kept while they are stored) and sent once they are stored.
   */
  render(table: string, rows: readonly LogRow[]): TailEvent | undefined {
    if (this.subscribers.size === 0 || rows.length === 0) return undefined;
    return {
      text: `data: ${JSON.stringify(rows.map((r) => tailRecord(table, r)))}\n\n`,
      records: rows.length,
    };
  }

  send(event: TailEvent): void {
    for (const s of this.subscribers) {
      if (s.res.writableLength > MAX_BUFFERED) {
        s.dropped += event.records;
        continue;
      }
      if (s.dropped > 0) {
        s.res.write(`event: dropped\ndata: ${JSON.stringify({ records: s.dropped })}\n\n`);
        s.dropped = 0;
      }
      s.res.write(event.text);
    }
  }

  /** Serves one subscriber until it goes away (or close()). */
  serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
    });
    res.write(': distlog collector live tail\n\n');
    const subscriber: Subscriber = { res, dropped: 0 };
    this.subscribers.add(subscriber);
    const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(keepAlive);
      this.subscribers.delete(subscriber);
    });
  }

  async start(): Promise<void> {}

  /** Ends every subscriber's stream (query servers reconnect to the next collector). */
  async shutdown(): Promise<void> {
    for (const s of this.subscribers) s.res.end();
    this.subscribers.clear();
  }
}

function tailRecord(table: string, r: LogRow): TailRecord {
  return {
    tier: table,
    TimeUnixNano: String(r.timeUnixNano),
    SeverityNumber: r.severityNumber,
    SeverityText: r.severityText,
    ServiceName: r.resource.serviceName,
    ScopeName: r.scope.name,
    EventName: r.eventName,
    Body: r.body,
    TraceId: r.traceId,
    SpanId: r.spanId,
    ak: r.attributes.keys,
    av: r.attributes.values,
    rk: r.resource.attributes.keys,
    rv: r.resource.attributes.values,
    ...(r.patternId ? { pid: String((BigInt(r.patternId[0]) << 32n) | BigInt(r.patternId[1])) } : {}),
  };
}
