/**
 * A run-time level rule as it crosses processes (distlog.v1.LevelRule in
 * distlog/v1/control.proto; JSON on the collector's /v1/levels and the query API): the
 * collector keeps and pushes rules, each process applies them, the query API and the
 * console show them. When one has expired is decided here, for all of them.
 */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type Level = (typeof LEVELS)[number];

export interface LevelRule {
  id: string;
  /** A service name, or "*" for all. */
  service: string;
  /** A logger name or glob (`db.*` also matches `db`). */
  logger: string;
  level: string;
  /** ISO 8601, or absent for no expiry. */
  expiresAt?: string;
  setBy: string;
  setAt: string;
  /** Fingers-crossed: DEBUG/TRACE records are held per trace in each process, sent only if that trace fails. */
  onError?: boolean;
}

/** Whether the rule no longer applies at `now` (ms since the epoch). */
export function isExpired(rule: Pick<LevelRule, 'expiresAt'>, now = Date.now()): boolean {
  return rule.expiresAt !== undefined && rule.expiresAt !== '' && Date.parse(rule.expiresAt) <= now;
}

/** When the next of these rules expires (ms since the epoch), or Infinity when none does. */
export function nextExpiry(rules: ReadonlyArray<Pick<LevelRule, 'expiresAt'>>): number {
  return Math.min(Infinity, ...rules.filter((r) => r.expiresAt).map((r) => Date.parse(r.expiresAt!)));
}

/** A rule's logger pattern: `*` matches any run of characters; `db.*` also matches `db` itself (a logger and its descendants). */
export function patternToRegExp(pattern: string): RegExp {
  const glob = (p: string) => p.replace(/[.+^${}()|[\]\\?]/g, '\\$&').replace(/\*/g, '.*');
  if (pattern.endsWith('.*') && pattern.length > 2)
    return new RegExp(`^${glob(pattern.slice(0, -2))}(\\..*)?$`);
  return new RegExp(`^${glob(pattern)}$`);
}
