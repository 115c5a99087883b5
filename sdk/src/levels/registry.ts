import { nextExpiry } from '@distlog/proto';
import { SeverityNumber } from '@opentelemetry/api-logs';
import type { LevelRule } from './rules';
import { effectiveRule } from './rules';
import { setConsoleMinimumSeverity, setConsoleHeld } from '../console';
import { holdPinoMethods } from './hold';

/** A logger that holds its DEBUG/TRACE records itself (debug namespaces) says so with this. */
export const SET_HELD = Symbol.for('distlog.setHeld');

interface PinoLike {
  level: string;
}

interface Tracked {
  ref: WeakRef<PinoLike>;
  name: string;
  /** The level the code gave it: what it returns to when no rule applies. */
  configured: string;
  /** An `onError` rule applies: its DEBUG/TRACE records are held until the trace fails (hold.ts). */
  held: boolean;
}

export interface LevelChangeNotice {
  changes: Array<{ logger: string; from: string; to: string }>;
  rule?: LevelRule;
}

/** The fewest entries at which `tracked` is pruned. */
const MIN_PRUNE_AT = 1024;

const CONSOLE_SEVERITY: Record<string, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
  silent: SeverityNumber.FATAL4 + 1,
};

/**
 * Every pino logger the SDK saw created (children included: pino children do not follow
 * a parent's level change, so each is set on its own), with the level its code
 * configured. Rules from the collector set their level; without a rule they go back.
 * The console capture counts as the logger `console`.
 */
export class LevelRegistry {
  private tracked: Tracked[] = [];
  /** The names of the loggers registered (those the collector was told of). */
  private names = new Set<string>();
  /** Prune when `tracked` reaches this many entries. */
  private pruneAt = MIN_PRUNE_AT;
  private rules: LevelRule[] = [];
  private consoleLevel = 'trace';
  private expiryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly service: string,
    private readonly onChange: (notice: LevelChangeNotice) => void,
    private readonly onLoggersChanged: () => void = () => undefined,
  ) {}

  register(logger: PinoLike, name: string): void {
    const rule = effectiveRule(this.rules, this.service, name);
    const held = rule?.onError === true;
    this.tracked.push({ ref: new WeakRef(logger), name, configured: logger.level, held });
    if (rule && (logger.level !== rule.level || held)) setLevel(logger, rule.level, held);
    // A server that makes a child per request (pino-http's `req.log`) registers a logger per
    // request: the entries of collected ones are let go once there are twice as many as
    // were alive at the last look (they used to stay: ~160 bytes a request, for good), and
    // the collector hears of a logger name only when it is new (it used to hear every 200 ms).
    if (this.tracked.length >= this.pruneAt) this.prune();
    if (!this.names.has(name)) {
      this.names.add(name);
      this.onLoggersChanged();
    }
  }

  /** Entries of loggers still alive (the others were collected), for tests and `distlog level list`. */
  get trackedCount(): number {
    return this.tracked.length;
  }

  /** Lets go of collected loggers' entries; a name none is left of is reported gone. */
  private prune(): void {
    const live = this.live();
    this.pruneAt = Math.max(MIN_PRUNE_AT, live.length * 2);
    const names = new Set(live.map((t) => t.name));
    if (names.size < this.names.size) {
      this.names = names;
      this.onLoggersChanged();
    }
  }

  setRules(rules: LevelRule[]): void {
    this.rules = rules;
    this.apply();
  }

  /** Like Spring Boot's loggers endpoint: per logger name, the configured and effective level. */
  effectiveLevels(): Record<string, { level: string; configured: string; rule?: string; onError?: boolean }> {
    const out: Record<string, { level: string; configured: string; rule?: string; onError?: boolean }> = {};
    for (const t of this.live()) {
      const rule = effectiveRule(this.rules, this.service, t.name);
      out[t.name] = {
        level: t.ref.deref()!.level,
        configured: t.configured,
        ...(rule ? { rule: rule.id } : {}),
        ...(rule?.onError ? { onError: true } : {}),
      };
    }
    const consoleRule = effectiveRule(this.rules, this.service, 'console');
    out.console = {
      level: this.consoleLevel,
      configured: 'trace',
      ...(consoleRule ? { rule: consoleRule.id } : {}),
      ...(consoleRule?.onError ? { onError: true } : {}),
    };
    return out;
  }

  private live(): Tracked[] {
    this.tracked = this.tracked.filter((t) => t.ref.deref() !== undefined);
    return this.tracked;
  }

  private apply(): void {
    const changes: LevelChangeNotice['changes'] = [];
    let deciding: LevelRule | undefined;
    for (const t of this.live()) {
      const logger = t.ref.deref()!;
      const rule = effectiveRule(this.rules, this.service, t.name);
      const level = rule ? rule.level : t.configured;
      const held = rule?.onError === true;
      if (logger.level !== level || held !== t.held) {
        changes.push({ logger: t.name, from: describe(logger.level, t.held), to: describe(level, held) });
        t.held = held;
        setLevel(logger, level, held);
        deciding ??= rule;
      }
    }
    const consoleRule = effectiveRule(this.rules, this.service, 'console');
    const consoleLevel = consoleRule ? consoleRule.level : 'trace';
    setConsoleHeld(consoleRule?.onError === true);
    if (consoleLevel !== this.consoleLevel) {
      changes.push({ logger: 'console', from: this.consoleLevel, to: consoleLevel });
      this.consoleLevel = consoleLevel;
      setConsoleMinimumSeverity(CONSOLE_SEVERITY[consoleLevel] ?? SeverityNumber.UNSPECIFIED);
      deciding ??= consoleRule;
    }
    // Two loggers named alike change together: report each name once.
    const unique = changes.filter(
      (c, i) => changes.findIndex((d) => d.logger === c.logger && d.to === c.to) === i,
    );
    if (unique.length > 0) this.onChange({ changes: unique, rule: deciding });
    this.scheduleExpiry();
  }

  /** Rules also expire here, so a process reverts on time even if the collector is away. */
  private scheduleExpiry(): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    const next = nextExpiry(this.rules);
    if (!Number.isFinite(next)) return;
    this.expiryTimer = setTimeout(() => this.apply(), Math.max(0, next - Date.now()) + 5);
    this.expiryTimer.unref();
  }
}

const describe = (level: string, held: boolean) => (held ? `${level} (held until an error)` : level);

/** Sets a logger's level (pino puts its own level methods back) and, for an onError rule, holds its DEBUG/TRACE. */
function setLevel(logger: PinoLike, level: string, held: boolean): void {
  const holder = (logger as { [SET_HELD]?: (held: boolean) => void })[SET_HELD];
  logger.level = level;
  if (typeof holder === 'function') holder.call(logger, held);
  else if (held) holdPinoMethods(logger as unknown as Record<string | symbol, unknown>);
}
