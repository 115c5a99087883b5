import type { LevelRule } from '@distlog/proto';
import { isExpired, patternToRegExp } from '@distlog/proto';
/**
 * Level rules as the collector pushes them (see proto/distlog/v1/control.proto), and
 * which one applies to a logger: the most specific match — an exact service beats "*",
 * then an exact logger name beats a glob, and a longer glob beats a shorter one;
 * the newest rule wins a tie. Expired rules never apply.
 */
export type { LevelRule } from '@distlog/proto';
export { patternToRegExp } from '@distlog/proto';

export function specificity(rule: Pick<LevelRule, 'service' | 'logger'>): number {
  const service = rule.service === '*' ? 0 : 1_000_000;
  const logger =
    rule.logger === '*' ? 0 : rule.logger.includes('*') ? 1 + rule.logger.replace(/\*/g, '').length : 100_000;
  return service + logger;
}

export function effectiveRule(
  rules: readonly LevelRule[],
  service: string,
  logger: string,
  now = Date.now(),
): LevelRule | undefined {
  let best: LevelRule | undefined;
  for (const r of rules) {
    if (isExpired(r, now)) continue;
    if (r.service !== '*' && r.service !== service) continue;
    if (!patternToRegExp(r.logger).test(logger)) continue;
    if (
      !best ||
      specificity(r) > specificity(best) ||
      (specificity(r) === specificity(best) && r.setAt > best.setAt)
    ) {
      best = r;
    }
  }
  return best;
}
