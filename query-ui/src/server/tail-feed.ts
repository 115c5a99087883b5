import type http from 'node:http';
import type { Authenticator, TlsConfig } from '@distlog/collector/auth';
import type { ClickHouse } from '@distlog/collector/storage';
import type { TailRecord } from '@distlog/collector';
import type { ApiRecord } from './records';
import { toApiRecord } from './records';
import { ALIVE_SECONDS, anyUserToken, getFromCollector, runningCollectors } from './collectors';

/**
 * Live tail without polling: while anyone tails, this query server subscribes to every
 * collector's `/v1/tail` stream (the collectors list themselves in the `collectors` table;
 * collector/src/control/collector-registry.ts) and hands each record to every viewer whose
 * filter it matches. A record reaches a viewer as soon as a collector has acknowledged it,
 * however late its own timestamp; viewers cost ClickHouse nothing (the list of collectors
 * is read every REFRESH_MS while anyone tails, whatever the number of viewers).
 *
 * The query server subscribes with the token of a configured user (any: each viewer's own
 * limits, tenants included, are applied here); without users it subscribes openly.
 */
const REFRESH_MS = 5_000;
/** Subscriptions are kept this long after the last viewer left (a page reload). */
const LINGER_MS = 10_000;

export type TailListener = (records: ApiRecord[]) => void;

export interface TailNotice {
  /** Collectors subscribed to now, by id. */
  connected: string[];
  /** Collectors that could not be reached, with why. */
  unreachable: Array<{ collector: string; url: string; error: string }>;
  /** Records a collector dropped for this query server (it did not keep up). */
  dropped: number;
}

interface Subscription {
  url: string;
  request: http.ClientRequest;
  connected: boolean;
  error?: string;
}

export class TailFeed {
  private readonly listeners = new Set<TailListener>();
  private readonly subscriptions = new Map<string, Subscription>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private listProblem: string | undefined;

  constructor(
    private readonly ch: ClickHouse,
    private readonly auth: Authenticator,
    private readonly tlsConfig?: TlsConfig,
  ) {}

  /** Starts receiving (if not yet) and calls `listener` with every record pushed from now on. */
  async subscribe(listener: TailListener): Promise<() => void> {
    this.listeners.add(listener);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    if (!this.refreshTimer) {
      await this.refresh();
      this.refreshTimer = setInterval(() => void this.refresh(), REFRESH_MS);
      this.refreshTimer.unref();
    } else if (this.subscriptions.size === 0) {
      await this.refresh();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size > 0) return;
      this.lingerTimer = setTimeout(() => this.stop(), LINGER_MS);
      this.lingerTimer.unref();
    };
  }

  notice(): TailNotice {
    const subs = [...this.subscriptions];
    return {
      connected: subs.filter(([, s]) => s.connected).map(([id]) => id),
      unreachable: subs
        .filter(([, s]) => !s.connected && s.error)
        .map(([collector, s]) => ({ collector, url: s.url, error: s.error! })),
      dropped: this.dropped,
    };
  }

  /** Why nothing can arrive, if nothing can: no collector listed, or none reachable. */
  problem(): string | undefined {
    if (this.listProblem) return this.listProblem;
    if (this.subscriptions.size === 0)
      return `no collector has registered in ClickHouse in the last ${ALIVE_SECONDS} s: nothing can be tailed`;
    if (
      ![...this.subscriptions.values()].some((s) => s.connected) &&
      [...this.subscriptions.values()].every((s) => s.error)
    )
      return `no collector is reachable for live tail: ${[...this.subscriptions.values()]
        .map((s) => `${s.url} (${s.error})`)
        .join(', ')}`;
    return undefined;
  }

  stop(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.refreshTimer = undefined;
    this.lingerTimer = undefined;
    for (const s of this.subscriptions.values()) s.request.destroy();
    this.subscriptions.clear();
  }

  /** Subscribes to collectors that appeared, drops those that went away. */
  private async refresh(): Promise<void> {
    let alive: Map<string, string>;
    try {
      alive = await runningCollectors(this.ch);
      this.listProblem = undefined;
    } catch (err) {
      this.listProblem = `cannot read the list of collectors from ClickHouse: ${String((err as Error).message).split('\n')[0]}`;
      return;
    }
    for (const [id, s] of this.subscriptions)
      if (alive.get(id) !== s.url) {
        s.request.destroy();
        this.subscriptions.delete(id);
      }
    // New streams are waited for (a few seconds at most): a viewer told "live" gets what follows.
    const opening = [...alive]
      .filter(([id]) => !this.subscriptions.has(id))
      .map(([id, url]) => this.connect(id, url));
    await Promise.race([Promise.all(opening), new Promise((r) => setTimeout(r, 3000).unref())]);
  }

  /** Opens the stream of one collector; resolves once it answered (or failed). */
  private connect(id: string, url: string): Promise<void> {
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((r) => (settle = r));
    const request = getFromCollector(new URL('/v1/tail', url), anyUserToken(this.auth), this.tlsConfig, {
      Accept: 'text/event-stream',
    });
    const subscription: Subscription = { url, request, connected: false };
    this.subscriptions.set(id, subscription);
    const failed = (error: string) => {
      settle();
      subscription.connected = false;
      subscription.error = error;
      // Forgotten, so the next refresh tries again (if the collector is still listed).
      setTimeout(() => {
        if (this.subscriptions.get(id) === subscription) this.subscriptions.delete(id);
      }, 1000).unref();
    };
    request.on('error', (err) => failed(err.message));
    request.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return failed(`HTTP ${res.statusCode}`);
      }
      subscription.connected = true;
      subscription.error = undefined;
      settle();
      res.setEncoding('utf8');
      let text = '';
      res.on('data', (chunk: string) => {
        text += chunk;
        let end: number;
        while ((end = text.indexOf('\n\n')) >= 0) {
          this.event(text.slice(0, end));
          text = text.slice(end + 2);
        }
      });
      res.on('end', () => failed('the collector closed the stream'));
      res.on('error', (err) => failed(err.message));
    });
    return settled;
  }

  private event(block: string): void {
    let name = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) return;
    if (name === 'dropped') {
      this.dropped += (JSON.parse(data) as { records: number }).records;
      return;
    }
    const records = (JSON.parse(data) as TailRecord[]).map(toApiRecord);
    for (const listener of this.listeners) listener(records);
  }
}
