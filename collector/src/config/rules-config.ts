import { SEVERITY_TEXT_BY_NUMBER } from '../model/log-row';
import type { Checker, Json } from './validate';
import { join } from './validate';

/**
 * Routing rules as data. A rule matches when every condition it names holds, and then
 * stores the record into a tier, forwards it to a destination, drops it, or — with
 * `sample` — does so for that fraction only (the rest is dropped). First match wins
 * unless the rule says `continue: true`; `default` takes what no terminal rule took.
 *
 *   rules:
 *     - name: usage
 *       match: { eventName: "usage.*" }
 *       store: longterm
 *     - name: copy-payments
 *       match: { service: payments, severity: { atLeast: WARN } }
 *       forward: audit
 *       continue: true
 *     - name: health-checks
 *       match: { attributes: { http.target: { pattern: "^/health" } } }
 *       drop: true
 *     - name: no-secrets
 *       match: { attributes: { password: { exists: true } } }
 *       reject: "records must not carry passwords"
 *   default: { store: logs }
 */
export interface AttributeCondition {
  key: string;
  equals?: string;
  exists?: boolean;
  pattern?: RegExp;
}

export interface MatchConfig {
  service?: RegExp;
  severity?: { atLeast?: number; atMost?: number };
  scope?: RegExp;
  eventName?: RegExp;
  attributes?: AttributeCondition[];
  body?: { contains?: string; pattern?: RegExp };
}

export interface ActionConfig {
  store?: string;
  forward?: string[];
  drop: boolean;
  /** Refuse the record: the client is told in OTLP's partial_success, with this message. */
  reject?: string;
  /** Fraction (0–1] of matching records that the action applies to. */
  sample?: number;
}

export interface RuleConfig {
  name: string;
  match: MatchConfig;
  action: ActionConfig;
  continue: boolean;
}

const RESERVED_RULE_NAMES = ['default'];
const ACTION_KEYS = ['store', 'forward', 'drop', 'reject', 'sample'];

export function parseRules(
  c: Checker,
  raw: Json,
  names: { tiers: string[]; destinations: string[] },
): RuleConfig[] {
  const rules: RuleConfig[] = [];
  c.list('rules', raw).forEach((r, i) => {
    const at = join('rules', i);
    const o = c.object(at, r, ['name', 'match', 'continue', ...ACTION_KEYS]);
    if (!o) return;
    const name = c.string(join(at, 'name'), o.name);
    if (name && RESERVED_RULE_NAMES.includes(name)) c.problem(join(at, 'name'), `"${name}" is reserved`);
    if (name && rules.some((x) => x.name === name))
      c.problem(join(at, 'name'), `rule "${name}" is defined twice`);
    const match = parseMatch(c, join(at, 'match'), o.match ?? {});
    const action = parseAction(c, at, o, names, false);
    if (o.reject === true) action.reject = `refused by rule ${name}`;
    const cont = c.boolean(join(at, 'continue'), o.continue, false);
    if (name) rules.push({ name, match, action, continue: cont });
  });
  return rules;
}

export function parseAction(
  c: Checker,
  at: string,
  raw: Json,
  names: { tiers: string[]; destinations: string[] },
  isDefault: boolean,
): ActionConfig {
  const o = isDefault ? c.object(at, raw, ACTION_KEYS) : (raw as Record<string, Json>);
  if (!o) return { drop: true };
  const store = c.string(join(at, 'store'), o.store);
  if (store && !names.tiers.includes(store)) {
    c.problem(join(at, 'store'), `unknown tier "${store}" (tiers: ${names.tiers.join(', ') || 'none'})`);
  }
  const forward = c.strings(join(at, 'forward'), o.forward);
  for (const d of forward ?? []) {
    if (!names.destinations.includes(d)) {
      c.problem(
        join(at, 'forward'),
        `unknown destination "${d}" (destinations: ${names.destinations.join(', ') || 'none'})`,
      );
    }
  }
  const drop = c.boolean(join(at, 'drop'), o.drop, false);
  let reject: string | undefined;
  if (o.reject !== undefined && o.reject !== false) {
    if (o.reject === true) reject = 'refused by rule';
    else reject = c.string(join(at, 'reject'), o.reject);
  }
  const sample = c.number(join(at, 'sample'), o.sample, { min: 0, max: 1 });
  if ((drop || reject) && (store || forward)) {
    c.problem(at, '`drop` and `reject` cannot be combined with store or forward');
  }
  if (drop && reject) c.problem(at, '`drop` and `reject` exclude each other');
  if (!drop && !reject && !store && !forward) {
    c.problem(at, 'needs an action: store: TIER, forward: DESTINATION, drop: true or reject: MESSAGE');
  }
  if (sample !== undefined && (drop || reject))
    c.problem(join(at, 'sample'), 'sample applies to store/forward');
  return { store, forward, drop, reject, sample };
}

export function parseMatch(c: Checker, at: string, raw: Json): MatchConfig {
  const o = c.object(at, raw, ['service', 'severity', 'scope', 'eventName', 'attributes', 'body']);
  if (!o) return {};
  const match: MatchConfig = {};
  const globs = (key: string) => {
    const list = c.strings(join(at, key), o[key]);
    return list ? globsToRegExp(list) : undefined;
  };
  match.service = globs('service');
  match.scope = globs('scope');
  match.eventName = globs('eventName');
  if (o.severity !== undefined) {
    const s = c.object(join(at, 'severity'), o.severity, ['atLeast', 'atMost']);
    if (s)
      match.severity = {
        atLeast: severity(c, join(join(at, 'severity'), 'atLeast'), s.atLeast),
        atMost: severity(c, join(join(at, 'severity'), 'atMost'), s.atMost),
      };
  }
  if (o.attributes !== undefined) {
    const attrs = c.object(join(at, 'attributes'), o.attributes, Object.keys((o.attributes as object) ?? {}));
    match.attributes = [];
    for (const [key, cond] of Object.entries(attrs ?? {})) {
      const cat = join(join(at, 'attributes'), key);
      if (typeof cond === 'string' || typeof cond === 'number' || typeof cond === 'boolean') {
        match.attributes.push({ key, equals: String(cond) });
        continue;
      }
      const co = c.object(cat, cond, ['equals', 'exists', 'pattern']);
      if (!co) continue;
      const condition: AttributeCondition = { key };
      if (co.equals !== undefined) condition.equals = String(co.equals);
      if (co.exists !== undefined) condition.exists = c.boolean(join(cat, 'exists'), co.exists, true);
      if (co.pattern !== undefined) condition.pattern = c.regex(join(cat, 'pattern'), co.pattern);
      if (co.equals === undefined && co.exists === undefined && co.pattern === undefined)
        c.problem(cat, 'needs equals, exists or pattern');
      match.attributes.push(condition);
    }
  }
  if (o.body !== undefined) {
    const b = c.object(join(at, 'body'), o.body, ['contains', 'pattern']);
    if (b)
      match.body = {
        contains: c.string(join(join(at, 'body'), 'contains'), b.contains),
        pattern: b.pattern === undefined ? undefined : c.regex(join(join(at, 'body'), 'pattern'), b.pattern),
      };
  }
  return match;
}

function severity(c: Checker, at: string, value: Json): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 24) return value;
  if (typeof value === 'string') {
    const n = SEVERITY_TEXT_BY_NUMBER.indexOf(value.toUpperCase());
    if (n > 0) return n;
  }
  c.fail(at, 'a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL, or e.g. INFO2) or number 1-24', value);
  return undefined;
}

/** `*` any run of characters, `?` one character; everything else literal. */
export function globsToRegExp(globs: string[]): RegExp {
  const alternatives = globs.map((g) =>
    g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.'),
  );
  return new RegExp(`^(?:${alternatives.join('|')})$`);
}
