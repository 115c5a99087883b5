import { patternToRegExp } from '@distlog/proto';
import type { ApiLevelInstance, ApiLevelRule } from '../shared/api-types';

/**
 * What a rule just set reaches now, said when it is nothing — a service name mistyped, a
 * logger no process has (yet), processes that send logs but follow no rules — so that a rule
 * that changes nothing does not pass for one that works.
 */
export function ruleReach(
  rule: Pick<ApiLevelRule, 'service' | 'logger'>,
  instances: readonly ApiLevelInstance[],
): string[] {
  const ofService = instances.filter((i) => rule.service === '*' || i.service === rule.service);
  const connected = ofService.filter((i) => i.connected !== false);
  const notes: string[] = [];
  // Those that sent records in the last five minutes (the list keeps ones gone for longer).
  const deaf = ofService.filter(
    (i) => i.connected === false && Date.now() - Date.parse(i.lastSeenAt ?? '') < 5 * 60_000,
  );
  if (deaf.length > 0)
    notes.push(
      `${deaf.length} process${deaf.length === 1 ? '' : 'es'} of ${deaf
        .map((i) => i.service)
        .filter(unique)
        .join(', ')} ` + 'send logs but follow no level rules (`distlog level list`; see their stderr)',
    );
  if (connected.length === 0) {
    const services = instances
      .filter((i) => i.connected !== false)
      .map((i) => i.service)
      .filter(unique);
    notes.push(
      `no connected process ${rule.service === '*' ? '' : `of service ${JSON.stringify(rule.service)} `}follows level rules now ` +
        `(connected services: ${services.length ? services.join(', ') : 'none'}); the rule applies to processes that connect before it expires`,
    );
    return notes;
  }
  const pattern = patternToRegExp(rule.logger);
  if (!connected.some((i) => Object.keys(i.loggers).some((name) => pattern.test(name)))) {
    const names = connected
      .flatMap((i) => Object.keys(i.loggers))
      .filter(unique)
      .sort();
    notes.push(
      `no logger of ${rule.service === '*' ? 'any connected process' : JSON.stringify(rule.service)} matches ${JSON.stringify(rule.logger)} now ` +
        `(${names.length ? `they have: ${names.join(', ')}` : 'they have made none yet'}); the rule applies to one made before it expires`,
    );
  }
  return notes;
}

function unique<T>(value: T, index: number, all: readonly T[]): boolean {
  return all.indexOf(value) === index;
}
