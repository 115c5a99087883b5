import type { Level, LevelRule as WireLevelRule } from '@distlog/proto';
import { LEVELS, durationMs } from '@distlog/proto';
import { InvalidRequestError } from '../errors';

/**
 * Run-time level rules: (service, logger pattern) → level, optionally until a time.
 * The collector validates, keeps and pushes them; each process (the SDK) decides which
 * rule applies to which of its loggers (most specific wins).
 */
export { LEVELS };
export type { Level };

/** A rule as the collector keeps it: its level one of LEVELS (the wire shape is @distlog/proto's). */
export interface LevelRule extends WireLevelRule {
  level: Level;
}

export interface NewLevelRule {
  service?: string;
  logger?: string;
  level?: string;
  /** Duration such as `15m`, or… */
  for?: string;
  /** …an absolute ISO 8601 time. */
  expiresAt?: string;
  setBy?: string;
  onError?: unknown;
}

/** A rule that cannot be set as given (HTTP 400 / gRPC INVALID_ARGUMENT). */
export class LevelRuleError extends InvalidRequestError {
  constructor(message: string) {
    super(message);
    this.name = 'LevelRuleError';
  }
}

/** Checks a requested rule; every problem is an error naming the field. */
export function validateRule(input: NewLevelRule, now = Date.now()): Omit<LevelRule, 'id' | 'setAt'> {
  const service = (input.service ?? '*').trim();
  const logger = (input.logger ?? '*').trim();
  if (service === '') throw new LevelRuleError('service: must not be empty (use "*" for all services)');
  if (logger === '') throw new LevelRuleError('logger: must not be empty (use "*" for all loggers)');
  if (!/^[\w.*:/@-]+$/.test(logger))
    throw new LevelRuleError(
      `logger: ${JSON.stringify(logger)} is not a logger name or pattern (letters, digits, . _ - : / @ and *)`,
    );
  const level = (input.level ?? '').toLowerCase();
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new LevelRuleError(
      `level: expected one of ${LEVELS.join(', ')}, got ${JSON.stringify(input.level ?? '')}`,
    );
  }
  let expiresAt: string | undefined;
  if (input.for !== undefined && input.expiresAt !== undefined)
    throw new LevelRuleError('give either `for` or `expiresAt`, not both');
  if (input.for !== undefined) {
    const ms = durationMs(input.for, ['s', 'm', 'h', 'd']);
    if (ms === undefined || ms <= 0)
      throw new LevelRuleError(
        `for: expected a duration such as 30s, 15m or 2h, got ${JSON.stringify(input.for)}`,
      );
    expiresAt = new Date(now + ms).toISOString();
  } else if (input.expiresAt !== undefined) {
    const t = Date.parse(input.expiresAt);
    if (!Number.isFinite(t))
      throw new LevelRuleError(
        `expiresAt: expected an ISO 8601 time, got ${JSON.stringify(input.expiresAt)}`,
      );
    if (t <= now) throw new LevelRuleError(`expiresAt: ${input.expiresAt} is in the past`);
    expiresAt = new Date(t).toISOString();
  }
  if (input.onError !== undefined && typeof input.onError !== 'boolean')
    throw new LevelRuleError(`onError: expected true or false, got ${JSON.stringify(input.onError)}`);
  if (input.onError && level !== 'debug' && level !== 'trace')
    throw new LevelRuleError(
      `onError: holds DEBUG/TRACE records until a trace fails, so the level must be debug or trace (got ${level})`,
    );
  return {
    service,
    logger,
    level: level as Level,
    expiresAt,
    setBy: input.setBy?.trim() || 'unknown',
    ...(input.onError ? { onError: true } : {}),
  };
}

/** The rules a process of `service` needs (its own and the "*" ones). */
export function rulesForService(rules: readonly LevelRule[], service: string): LevelRule[] {
  return rules.filter((r) => r.service === '*' || r.service === service);
}
