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

/** A rule's conditions as a checked file writes them (config/schema.ts). */
export interface MatchInput {
  service?: string[];
  severity?: { atLeast?: number; atMost?: number };
  scope?: string[];
  eventName?: string[];
  attributes?: Record<
    string,
    string | number | boolean | { equals?: string | number | boolean; exists?: boolean; pattern?: string }
  >;
  body?: { contains?: string; pattern?: string };
}

export interface ActionInput {
  store?: string;
  forward?: string[];
  drop: boolean;
  reject?: string | boolean;
  sample?: number;
}

export interface RuleInput extends ActionInput {
  name: string;
  match?: MatchInput;
  continue: boolean;
}

export function compileRule(r: RuleInput): RuleConfig {
  const action = compileAction(r);
  if (r.reject === true) action.reject = `refused by rule ${r.name}`;
  return { name: r.name, match: compileMatch(r.match ?? {}), action, continue: r.continue };
}

export function compileAction(a: ActionInput): ActionConfig {
  return {
    store: a.store,
    forward: a.forward,
    drop: a.drop,
    reject: a.reject === true ? 'refused by rule' : a.reject === false ? undefined : a.reject,
    sample: a.sample,
  };
}

export function compileMatch(m: MatchInput): MatchConfig {
  const match: MatchConfig = {};
  if (m.service) match.service = globsToRegExp(m.service);
  if (m.scope) match.scope = globsToRegExp(m.scope);
  if (m.eventName) match.eventName = globsToRegExp(m.eventName);
  if (m.severity) match.severity = { atLeast: m.severity.atLeast, atMost: m.severity.atMost };
  if (m.attributes) {
    match.attributes = Object.entries(m.attributes).map(([key, cond]) => {
      if (typeof cond !== 'object') return { key, equals: String(cond) };
      const condition: AttributeCondition = { key };
      if (cond.equals !== undefined) condition.equals = String(cond.equals);
      if (cond.exists !== undefined) condition.exists = cond.exists;
      if (cond.pattern !== undefined) condition.pattern = new RegExp(cond.pattern);
      return condition;
    });
  }
  if (m.body) {
    match.body = {
      contains: m.body.contains,
      pattern: m.body.pattern === undefined ? undefined : new RegExp(m.body.pattern),
    };
  }
  return match;
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
