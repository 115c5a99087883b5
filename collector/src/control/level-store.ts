import { isExpired, nextExpiry } from '@distlog/proto';
import { randomBytes, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import type { LevelRule, NewLevelRule } from './level-rules';
import { rulesForService, validateRule } from './level-rules';
import type { ClickHouse } from '../storage/clickhouse';
import { intLiteral, stringLiteral } from '../storage/sql';
import { log } from '../helpers/log';
import type { Component } from '../pipeline/component';
import { UnavailableError } from '../errors';

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
  /** The collector the process is subscribed through (its `collectorId`). */
  collector?: string;
}

export type LevelChange =
  | { kind: 'set'; rule: LevelRule }
  | { kind: 'cleared'; rule: LevelRule; by: string }
  | { kind: 'expired'; rule: LevelRule };

/** ClickHouse could not take or give the rules: the caller should retry (HTTP 503). */
export class LevelStoreUnavailableError extends UnavailableError {
  constructor(what: string, cause: unknown) {
    super(
      `${what}: ClickHouse did not answer (${String((cause as Error)?.message ?? cause).split('\n')[0]})`,
    );
    this.name = 'LevelStoreUnavailableError';
  }
}

export interface LevelStoreOptions {
  ch: ClickHouse;
  /** Names this collector in level_processes (default: host/pid/random). */
  collectorId?: string;
  /** A levels.json from before rules lived in ClickHouse: its rules are moved there once. */
  legacyFile?: string;
  /** Every change this collector makes or sees expire first (the audit trail). */
  onChange?: (change: LevelChange) => void;
  /** How often the shared rules are checked for changes (ms). Default 1000. */
  pollMs?: number;
  /** How often this collector's subscribed processes are written as alive (ms). Default 10 000. */
  heartbeatMs?: number;
}

type Subscriber = { service: string; push: (rules: LevelRule[]) => void; end: () => void };
type ChangeKind = 'set' | 'replaced' | 'cleared' | 'expired';

/** How much later than a rule's setter the other collectors look at its expiry (ms). */
const FOLLOWER_DELAY_MS = 2000;

/** A process unseen (no heartbeat) this long is no longer listed. */
const STALE_SECONDS = 30;

/**
 * The level rules, with ClickHouse as the one truth (tables level_rule_changes and
 * level_processes, migrations 0012 and 0013), so that any number of collectors agree:
 *
 * - A change (set, clear) is a row in level_rule_changes; the collector that made it
 *   pushes it to its own subscribers at once, every other collector within `pollMs`
 *   (it checks count() and max(Version), and reloads only when they moved).
 * - Expiry: every collector's timer fires at the rule's end (plus up to a second of
 *   jitter); the first to find the rule still `set` records `expired`, the others see
 *   that row and only push. Processes also expire rules by themselves (the SDK).
 * - Processes: each collector writes its subscribed processes' reports, and a heartbeat
 *   for each every `heartbeatMs`; `listInstances` reads every collector's.
 *
 * `list()` answers from the copy kept fresh by the poll.
 */
export class LevelStore implements Component {
  private rules: LevelRule[] = [];
  /** Rules this collector set (in this run): it records their expiry, the others follow. */
  private readonly setHere = new Set<string>();
  private version = '';
  private readonly subscribers = new Set<Subscriber>();
  private readonly instances = new Map<string, LevelInstance>();
  /** When each process's subscription ended (see endedWith). */
  private readonly ended = new Map<string, number>();
  /** Processes whose state changed since the last write to level_processes. */
  private readonly dirty = new Set<string>();
  /** When each dirty process last changed (ms): its rows' Version, so a later event elsewhere wins. */
  private readonly changedAt = new Map<string, number>();
  private readonly leaving = new Map<string, LevelInstance>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private pollProblem: string | undefined;
  private readonly ch: ClickHouse;
  readonly collectorId: string;
  private readonly onChange: (change: LevelChange) => void;

  private constructor(private readonly options: LevelStoreOptions) {
    this.ch = options.ch;
    this.collectorId =
      options.collectorId ?? `${hostname()}/${process.pid}/${randomBytes(2).toString('hex')}`;
    this.onChange = options.onChange ?? (() => undefined);
  }

  /** A started store. */
  static async open(options: LevelStoreOptions): Promise<LevelStore> {
    const store = new LevelStore(options);
    await store.start();
    return store;
  }

  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    try {
      if (this.options.legacyFile) await this.migrateLegacyFile(this.options.legacyFile);
      await this.reload();
    } catch (err) {
      // The poll keeps trying; processes keep the rules they have meanwhile.
      log('warn', 'cannot read level rules from ClickHouse yet', { error: String(err) });
    }
    this.poll();
    this.heartbeatTimer = setInterval(() => {
      for (const key of this.instances.keys()) this.changed(key, false);
      void this.flushProcesses().catch(() => undefined);
    }, this.options.heartbeatMs ?? 10_000);
    this.heartbeatTimer.unref();
  }

  list(): LevelRule[] {
    const now = Date.now();
    return this.rules.filter((r) => !isExpired(r, now));
  }

  /**
   * Subscribed processes of every collector, then those that send records to this one
   * without following level rules. If ClickHouse cannot answer, this collector's own.
   */
  async listInstances(
    senders: ReadonlyArray<{ service: string; instance: string; lastSeenAt: number }> = [],
  ): Promise<LevelInstance[]> {
    let connected: LevelInstance[];
    try {
      await this.flushProcesses();
      connected = await this.readProcesses();
    } catch (err) {
      log('warn', 'cannot read the processes of other collectors; listing this one only', {
        error: String(err),
      });
      connected = [...this.instances.values()];
    }
    const known = new Set(connected.map((i) => `${i.service}\u0000${i.instance}`));
    const unconnected = senders
      .filter((s) => !known.has(`${s.service}\u0000${s.instance}`) && !this.endedWith(s))
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
    await this.reload().catch(() => undefined);
    // One rule per (service, logger): setting it again replaces it.
    const replaced = this.rules.filter((r) => r.service === valid.service && r.logger === valid.logger);
    const rule: LevelRule = { id: randomUUID().slice(0, 8), ...valid, setAt: new Date().toISOString() };
    await this.append([
      ...replaced.map((r) => ({ kind: 'replaced' as const, rule: r, by: rule.setBy })),
      { kind: 'set', rule, by: rule.setBy },
    ]);
    this.setHere.add(rule.id);
    this.rules = this.rules.filter((r) => !replaced.includes(r)).concat(rule);
    this.onChange({ kind: 'set', rule });
    this.broadcast();
    return rule;
  }

  /** Removes rules by id, or by service and/or logger pattern; returns what was removed. */
  async clear(
    filter: { id?: string; service?: string; logger?: string },
    by = 'unknown',
  ): Promise<LevelRule[]> {
    await this.reload().catch(() => undefined);
    const removed = this.rules.filter(
      (r) =>
        (filter.id === undefined || r.id === filter.id) &&
        (filter.service === undefined || r.service === filter.service) &&
        (filter.logger === undefined || r.logger === filter.logger),
    );
    if (removed.length === 0) return [];
    await this.append(removed.map((rule) => ({ kind: 'cleared' as const, rule, by })));
    this.rules = this.rules.filter((r) => !removed.includes(r));
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
    this.leaving.delete(key);
    this.instances.set(key, this.newInstance(service, instance));
    this.changed(key);
    push(rulesForService(this.list(), service));
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      this.subscribers.delete(subscriber);
      const last = this.instances.get(key);
      this.instances.delete(key);
      if (last) this.leaving.set(key, { ...last, connected: false });
      this.changed(key);
      this.ended.delete(key);
      this.ended.set(key, Date.now());
      if (this.ended.size > 10_000) this.ended.delete(this.ended.keys().next().value!);
    };
  }

  /** A process subscribed through this collector, as it is listed before its first report. */
  private newInstance(service: string, instance: string): LevelInstance {
    return {
      service,
      instance,
      connected: true,
      loggers: {},
      connectedAt: new Date().toISOString(),
      collector: this.collectorId,
    };
  }

  report(service: string, instance: string, loggers: LevelInstance['loggers']): void {
    const key = `${service}\u0000${instance}`;
    const known = this.instances.get(key) ?? this.newInstance(service, instance);
    this.instances.set(key, { ...known, loggers, lastReportAt: new Date().toISOString() });
    this.changed(key);
  }

  /**
   * Ends every subscription (processes reconnect to the next collector), first writing
   * them as disconnected, and stops the timers.
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.expiryTimer, this.pollTimer, this.flushTimer]) if (t) clearTimeout(t);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    for (const [key, instance] of this.instances) {
      this.leaving.set(key, { ...instance, connected: false });
      this.changed(key, false);
    }
    this.instances.clear();
    await this.flushProcesses().catch(() => undefined);
    for (const s of this.subscribers) s.end();
    this.subscribers.clear();
  }

  private broadcast(): void {
    const rules = this.list();
    for (const s of this.subscribers) s.push(rulesForService(rules, s.service));
    this.scheduleExpiry();
  }

  // ---- rules in ClickHouse ----

  private table(name: string): string {
    return `${this.ch.database}.${name}`;
  }

  private async append(changes: Array<{ kind: ChangeKind; rule: LevelRule; by: string }>): Promise<void> {
    if (changes.length === 0) return;
    const base = BigInt(Date.now()) * 1000n;
    const rows = changes.map(({ kind, rule, by }, i) =>
      [
        intLiteral(base + BigInt(i)),
        stringLiteral(rule.id),
        stringLiteral(kind),
        stringLiteral(rule.service),
        stringLiteral(rule.logger),
        stringLiteral(rule.level),
        stringLiteral(rule.expiresAt ?? ''),
        stringLiteral(rule.setBy),
        stringLiteral(rule.setAt),
        rule.onError ? '1' : '0',
        stringLiteral(by),
        'now()',
        stringLiteral(this.collectorId),
      ].join(', '),
    );
    try {
      await this.ch.command(
        `INSERT INTO ${this.table('level_rule_changes')} (Version, RuleId, Change, Service, Logger, Level, ` +
          `ExpiresAt, SetBy, SetAt, OnError, ChangedBy, ChangedAt, Collector) VALUES (${rows.join('), (')})`,
      );
    } catch (err) {
      throw new LevelStoreUnavailableError('the level rule change was not recorded', err);
    }
  }

  /** The rules in force (latest change `set`), from ClickHouse. */
  private async readRules(): Promise<LevelRule[]> {
    const latest = (column: string, as: string) => `argMax(${column}, Version) AS ${as}`;
    const rows = await this.ch.query<{
      id: string;
      change: string;
      service: string;
      logger: string;
      level: LevelRule['level'];
      expiresAt: string;
      setBy: string;
      setAt: string;
      onError: number | string;
    }>(
      `SELECT RuleId AS id, ${latest('Change', 'change')}, ${latest('Service', 'service')}, ` +
        `${latest('Logger', 'logger')}, ${latest('Level', 'level')}, ${latest('ExpiresAt', 'expiresAt')}, ` +
        `${latest('SetBy', 'setBy')}, ${latest('SetAt', 'setAt')}, ${latest('OnError', 'onError')} ` +
        `FROM ${this.table('level_rule_changes')} GROUP BY RuleId HAVING change = 'set' ORDER BY setAt, id`,
    );
    return rows.map((r) => ({
      id: r.id,
      service: r.service,
      logger: r.logger,
      level: r.level,
      ...(r.expiresAt ? { expiresAt: r.expiresAt } : {}),
      setBy: r.setBy,
      setAt: r.setAt,
      ...(Number(r.onError) === 1 ? { onError: true } : {}),
    }));
  }

  /** Reloads the rules if the table changed since the last look; pushes a difference. */
  private async reload(): Promise<void> {
    const [row] = await this.ch.query<{ n: string; v: string }>(
      `SELECT count() AS n, max(Version) AS v FROM ${this.table('level_rule_changes')}`,
    );
    const version = `${row.n}:${row.v}`;
    if (version === this.version) return;
    const rules = await this.readRules();
    this.version = version;
    if (JSON.stringify(rules) === JSON.stringify(this.rules)) return;
    this.rules = rules;
    this.broadcast();
  }

  private poll(): void {
    if (this.closed) return;
    this.pollTimer = setTimeout(() => {
      void this.reload()
        .then(() => {
          if (this.pollProblem) log('info', 'level rules readable in ClickHouse again', {});
          this.pollProblem = undefined;
        })
        .catch((err) => {
          // Said once: the processes keep the rules they have (and expire them themselves).
          if (this.pollProblem === undefined)
            log('warn', 'cannot read level rules from ClickHouse; keeping the last known', {
              error: String(err),
            });
          this.pollProblem = String(err);
        })
        .finally(() => this.poll());
    }, this.options.pollMs ?? 1000);
    this.pollTimer.unref();
  }

  /**
   * When this collector records a rule's expiry (ms since the epoch; Infinity: never). The
   * collector that set the rule does it at once; every other one FOLLOWER_DELAY_MS later,
   * and only if the rule is still `set` then (its setter may be gone). Random jitter alone
   * let two collectors check within the same few milliseconds and both record it.
   */
  private expiryFor(rule: LevelRule): number {
    return nextExpiry([rule]) + (this.setHere.has(rule.id) ? 0 : FOLLOWER_DELAY_MS);
  }

  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    if (this.closed) return;
    const next = Math.min(Infinity, ...this.rules.map((r) => this.expiryFor(r)));
    if (!Number.isFinite(next)) return;
    // Jitter: of several followers (the setter gone), one records the expiry first and the others see it.
    const jitter = Math.random() * 1000;
    this.expiryTimer = setTimeout(() => void this.expire(), Math.max(0, next - Date.now()) + 5 + jitter);
    this.expiryTimer.unref();
  }

  /** Records `expired` for rules past their end that no other collector has recorded yet. */
  private async expire(): Promise<void> {
    const now = Date.now();
    const due = this.rules.filter((r) => this.expiryFor(r) <= now);
    try {
      for (const rule of due) {
        const [latest] = await this.ch.query<{ change: string }>(
          `SELECT argMax(Change, Version) AS change FROM ${this.table('level_rule_changes')} ` +
            `WHERE RuleId = ${stringLiteral(rule.id)}`,
        );
        if (latest?.change !== 'set') continue;
        await this.append([{ kind: 'expired', rule, by: 'expiry' }]);
        this.onChange({ kind: 'expired', rule });
      }
      this.rules = this.rules.filter((r) => !due.includes(r));
      this.broadcast();
      await this.reload();
    } catch (err) {
      log('warn', 'could not record level rule expiry; trying again', { error: String(err) });
      this.expiryTimer = setTimeout(() => void this.expire(), 2000);
      this.expiryTimer.unref();
    }
  }

  /** Rules of a levels.json (kept by collectors before rules lived in ClickHouse) are moved in once. */
  private async migrateLegacyFile(file: string): Promise<void> {
    let saved: { rules?: LevelRule[] };
    try {
      saved = JSON.parse(await fs.readFile(file, 'utf8')) as { rules?: LevelRule[] };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        log('warn', 'level rules file unreadable; not moved to ClickHouse', { file, error: String(err) });
      return;
    }
    const rules = (Array.isArray(saved.rules) ? saved.rules : []).filter((r) => !isExpired(r));
    const present = new Set(
      (
        await this.ch.query<{ id: string }>(
          `SELECT DISTINCT RuleId AS id FROM ${this.table('level_rule_changes')}`,
        )
      ).map((r) => r.id),
    );
    const missing = rules.filter((r) => !present.has(r.id));
    await this.append(missing.map((rule) => ({ kind: 'set' as const, rule, by: 'levels.json' })));
    for (const rule of missing) this.setHere.add(rule.id);
    await fs.rename(file, `${file}.migrated`);
    log('info', 'level rules moved from the file to ClickHouse; the file is no longer read', {
      file,
      renamedTo: `${file}.migrated`,
      rules: missing.length,
    });
  }

  // ---- processes in ClickHouse ----

  private changed(key: string, soon = true): void {
    this.dirty.add(key);
    this.changedAt.set(key, Date.now());
    if (!soon || this.closed) return;
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flushProcesses().catch((err) =>
        log('warn', 'could not record subscribed processes in ClickHouse', { error: String(err) }),
      );
    }, 100);
    this.flushTimer.unref();
  }

  /** Writes the processes that changed (or are due a heartbeat). */
  private async flushProcesses(): Promise<void> {
    if (this.dirty.size === 0) return;
    const keys = [...this.dirty];
    this.dirty.clear();
    const rows: string[] = [];
    for (const key of keys) {
      const i = this.instances.get(key) ?? this.leaving.get(key);
      if (!i) continue;
      rows.push(
        [
          stringLiteral(i.service),
          stringLiteral(i.instance),
          stringLiteral(this.collectorId),
          i.connected ? '1' : '0',
          stringLiteral(JSON.stringify(i.loggers)),
          stringLiteral(i.connectedAt ?? ''),
          stringLiteral(i.lastReportAt ?? ''),
          'now()',
          intLiteral(BigInt(this.changedAt.get(key) ?? Date.now()) * 1000n),
        ].join(', '),
      );
    }
    if (rows.length === 0) return;
    try {
      await this.ch.command(
        `INSERT INTO ${this.table('level_processes')} (Service, Instance, Collector, Connected, Loggers, ` +
          `ConnectedAt, ReportedAt, SeenAt, Version) VALUES (${rows.join('), (')})`,
      );
      for (const key of keys) {
        if (this.dirty.has(key)) continue;
        this.changedAt.delete(key);
        if (!this.instances.has(key)) this.leaving.delete(key);
      }
    } catch (err) {
      for (const key of keys) this.dirty.add(key);
      throw err;
    }
  }

  private async readProcesses(): Promise<LevelInstance[]> {
    const latest = (column: string, as: string) => `argMax(${column}, Version) AS ${as}`;
    const rows = await this.ch.query<{
      service: string;
      instance: string;
      collector: string;
      connected: number | string;
      loggers: string;
      connectedAt: string;
      reportedAt: string;
    }>(
      `SELECT Service AS service, Instance AS instance, ${latest('Collector', 'collector')}, ` +
        `${latest('Connected', 'connected')}, ${latest('Loggers', 'loggers')}, ` +
        `${latest('ConnectedAt', 'connectedAt')}, ${latest('ReportedAt', 'reportedAt')} ` +
        `FROM ${this.table('level_processes')} WHERE SeenAt >= now() - ${STALE_SECONDS} ` +
        `GROUP BY Service, Instance HAVING connected = 1 ORDER BY service, instance`,
    );
    return rows.map((r) => ({
      service: r.service,
      instance: r.instance,
      connected: true,
      loggers: JSON.parse(r.loggers) as LevelInstance['loggers'],
      ...(r.connectedAt ? { connectedAt: r.connectedAt } : {}),
      ...(r.reportedAt ? { lastReportAt: r.reportedAt } : {}),
      collector: r.collector,
    }));
  }
}
