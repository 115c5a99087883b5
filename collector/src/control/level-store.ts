import { randomUUID } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { LevelRule, NewLevelRule, rulesForService, validateRule } from './level-rules';
import { log } from '../helpers/log';

/** How long after its subscription ended a process's records still count as its last flush. */
const ENDED_GRACE_MS = 10_000;
/** A process that subscribed to level rules, with the effective level of each of its loggers. */
export interface LevelInstance {
  service: string;
  instance: string;
  /** Subscribed now. False: the process sends records but does not follow level rules. */
  connected: boolean;
  loggers: Record<string, { level: string; configured?: string; rule?: string; onError?: boolean }>;
  connectedAt?: string;
  lastReportAt?: string;
  /** For processes that are not connected: when they last sent records. */
  lastSeenAt?: string;
}

export type LevelChange =
  | { kind: 'set'; rule: LevelRule }
  | { kind: 'cleared'; rule: LevelRule; by: string }
  | { kind: 'expired'; rule: LevelRule };

type Subscriber = { service: string; push: (rules: LevelRule[]) => void; end: () => void };

/**
 * The collector's level rules: kept in `levels.json` under DISTLOG_HOME (written
 * atomically, so they survive a restart), expired by a timer, pushed to every
 * subscribed process on each change, and every change reported to `onChange` (the
 * audit trail, written as log records).
 */
export class LevelStore {
  private rules: LevelRule[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly instances = new Map<string, LevelInstance>();
  /** When each process's subscription ended (see endedWith). */
  private readonly ended = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private writing = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly onChange: (change: LevelChange) => void = () => undefined,
  ) {
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { rules?: LevelRule[] };
      this.rules = Array.isArray(saved.rules) ? saved.rules : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log('warn', 'level rules file unreadable; starting empty', { file, error: String(err) });
    }
    this.expire();
  }

  list(): LevelRule[] {
    this.expire();
    return [...this.rules];
  }

  /** Subscribed processes, then those that send records without following level rules. */
  listInstances(
    senders: ReadonlyArray<{ service: string; instance: string; lastSeenAt: number }> = [],
  ): LevelInstance[] {
    const connected = [...this.instances.values()];
    const unconnected = senders
      .filter((s) => !this.instances.has(`${s.service}\u0000${s.instance}`) && !this.endedWith(s))
      .map((s) => ({
        service: s.service,
        instance: s.instance,
        connected: false,
        loggers: {},
        lastSeenAt: new Date(s.lastSeenAt).toISOString(),
      }));
    return [...connected, ...unconnected];
  }

  async set(input: NewLevelRule): Promise<LevelRule> {
    const valid = validateRule(input);
    // One rule per (service, logger): setting it again replaces it.
    const replaced = this.rules.filter((r) => r.service === valid.service && r.logger === valid.logger);
    const rule: LevelRule = { id: randomUUID().slice(0, 8), ...valid, setAt: new Date().toISOString() };
    this.rules = this.rules.filter((r) => !replaced.includes(r)).concat(rule);
    await this.persist();
    this.onChange({ kind: 'set', rule });
    this.broadcast();
    return rule;
  }

  /** Removes rules by id, or by service and/or logger pattern; returns what was removed. */
  async clear(
    filter: { id?: string; service?: string; logger?: string },
    by = 'unknown',
  ): Promise<LevelRule[]> {
    const removed = this.rules.filter(
      (r) =>
        (filter.id === undefined || r.id === filter.id) &&
        (filter.service === undefined || r.service === filter.service) &&
        (filter.logger === undefined || r.logger === filter.logger),
    );
    if (removed.length === 0) return [];
    this.rules = this.rules.filter((r) => !removed.includes(r));
    await this.persist();
    for (const rule of removed) this.onChange({ kind: 'cleared', rule, by });
    this.broadcast();
    return removed;
  }

  /**
   * A process whose subscription ended (it stopped, as the shop example's services do) is
   * not "not connected": the records it sent up to a little after — its last flush on the
   * way out — belong to its subscribed life. Records sent later again would list it.
   */
  private endedWith(sender: { service: string; instance: string; lastSeenAt: number }): boolean {
    const endedAt = this.ended.get(`${sender.service}\u0000${sender.instance}`);
    return endedAt !== undefined && sender.lastSeenAt <= endedAt + ENDED_GRACE_MS;
  }

  /** Registers a process; `push` receives the rules for its service now and on every change. */
  subscribe(
    service: string,
    instance: string,
    push: (rules: LevelRule[]) => void,
    end: () => void = () => undefined,
  ): () => void {
    const subscriber: Subscriber = { service, push, end };
    this.subscribers.add(subscriber);
    const key = `${service}\u0000${instance}`;
    this.instances.set(key, {
      service,
      instance,
      connected: true,
      loggers: {},
      connectedAt: new Date().toISOString(),
    });
    push(rulesForService(this.list(), service));
    return () => {
      this.subscribers.delete(subscriber);
      this.instances.delete(key);
      this.ended.delete(key);
      this.ended.set(key, Date.now());
      if (this.ended.size > 10_000) this.ended.delete(this.ended.keys().next().value!);
    };
  }

  report(service: string, instance: string, loggers: LevelInstance['loggers']): void {
    const key = `${service}\u0000${instance}`;
    const known = this.instances.get(key) ?? {
      service,
      instance,
      connected: true,
      loggers: {},
      connectedAt: new Date().toISOString(),
    };
    this.instances.set(key, { ...known, loggers, lastReportAt: new Date().toISOString() });
  }

  /** Ends every subscription (processes reconnect to the next collector) and stops expiry. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subscribers) s.end();
    this.subscribers.clear();
  }

  private broadcast(): void {
    for (const s of this.subscribers) s.push(rulesForService(this.rules, s.service));
    this.scheduleExpiry();
  }

  private expire(): void {
    const now = Date.now();
    const expired = this.rules.filter((r) => r.expiresAt && Date.parse(r.expiresAt) <= now);
    if (expired.length > 0) {
      this.rules = this.rules.filter((r) => !expired.includes(r));
      void this.persist();
      for (const rule of expired) this.onChange({ kind: 'expired', rule });
      for (const s of this.subscribers) s.push(rulesForService(this.rules, s.service));
    }
    this.scheduleExpiry();
  }

  private scheduleExpiry(): void {
    if (this.timer) clearTimeout(this.timer);
    const next = Math.min(...this.rules.filter((r) => r.expiresAt).map((r) => Date.parse(r.expiresAt!)));
    if (!Number.isFinite(next)) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, next - Date.now()) + 5);
    this.timer.unref();
  }

  private persist(): Promise<void> {
    const data = JSON.stringify({ rules: this.rules }, null, 2);
    this.writing = this.writing.then(async () => {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.tmp`;
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, this.file);
    });
    return this.writing;
  }
}
