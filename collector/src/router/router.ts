import type { LogRow } from '../model/log-row';
import { attributeValue } from '../model/log-row';
import type { ActionConfig, MatchConfig, RuleConfig } from '../config/rules-config';

/**
 * The compiled rules: conditions become one closure per rule at start (and at reload);
 * route() walks them per record. Which rules matched decides the outcome, so unless a
 * matching rule samples (a random draw per record) the decision is made once per set of
 * matching rules and shared: routing allocates nothing per record. A decision is read,
 * never changed, by its caller.
 */
export interface RouteDecision {
  /** Tier names to store into. */
  stores: Set<string>;
  /** Destination names to forward to. */
  forwards: Set<string>;
  /** Names of the rules that applied (for metrics). */
  rules: string[];
  dropped: boolean;
  /** Set when a `reject` rule refused the record: the message for the client. */
  rejected?: string;
}

type Predicate = (row: LogRow) => boolean;

interface CompiledRule {
  name: string;
  test: Predicate;
  action: ActionConfig;
  continue: boolean;
}

export class Router {
  private readonly rules: CompiledRule[];
  /** Decisions by set of matching rules (route()). */
  private readonly decisions = new Map<number, RouteDecision>();

  constructor(
    rules: readonly RuleConfig[],
    private readonly defaultAction: ActionConfig,
    private readonly random: () => number = Math.random,
  ) {
    this.rules = rules.map((r) => ({
      name: r.name,
      test: compileMatch(r.match),
      action: r.action,
      continue: r.continue,
    }));
  }

  route(row: LogRow): RouteDecision {
    const rules = this.rules;
    if (rules.length > 30) return this.decide(row);
    // Bit k: rule k matched. The walk stops where decide() stops: at a matching final rule.
    let matched = 0;
    let final = false;
    for (let k = 0; k < rules.length && !final; k++) {
      const rule = rules[k];
      if (!rule.test(row)) continue;
      if (rule.action.sample !== undefined) return this.decide(row);
      matched |= 1 << k;
      final = !rule.continue;
    }
    if (!final && this.defaultAction.sample !== undefined) return this.decide(row);
    let decision = this.decisions.get(matched);
    if (!decision) {
      decision = this.decide(row, matched);
      this.decisions.set(matched, decision);
    }
    return decision;
  }

  /** The decision for `row`, made afresh; `matched`, when given, says which rules match it. */
  private decide(row: LogRow, matched?: number): RouteDecision {
    const decision: RouteDecision = { stores: new Set(), forwards: new Set(), rules: [], dropped: false };
    for (let k = 0; k < this.rules.length; k++) {
      const rule = this.rules[k];
      if (!(matched === undefined ? rule.test(row) : (matched & (1 << k)) !== 0)) continue;
      decision.rules.push(rule.name);
      this.apply(rule.action, decision);
      if (!rule.continue) return finish(decision);
    }
    decision.rules.push('default');
    this.apply(this.defaultAction, decision);
    return finish(decision);
  }

  private apply(action: ActionConfig, decision: RouteDecision): void {
    if (action.reject !== undefined) {
      decision.rejected ??= action.reject;
      return;
    }
    if (action.drop) return;
    if (action.sample !== undefined && this.random() >= action.sample) return;
    if (action.store) decision.stores.add(action.store);
    for (const d of action.forward ?? []) decision.forwards.add(d);
  }
}

function finish(decision: RouteDecision): RouteDecision {
  if (decision.rejected !== undefined) {
    decision.stores.clear();
    decision.forwards.clear();
  }
  decision.dropped =
    decision.rejected === undefined && decision.stores.size === 0 && decision.forwards.size === 0;
  return decision;
}

export function compileMatch(match: MatchConfig): Predicate {
  const tests: Predicate[] = [];
  if (match.service) {
    const re = match.service;
    tests.push((r) => re.test(r.resource.serviceName));
  }
  if (match.severity) {
    const { atLeast = 0, atMost = 24 } = match.severity;
    tests.push((r) => r.severityNumber >= atLeast && r.severityNumber <= atMost);
  }
  if (match.scope) {
    const re = match.scope;
    tests.push((r) => re.test(r.scope.name));
  }
  if (match.eventName) {
    const re = match.eventName;
    tests.push((r) => re.test(r.eventName));
  }
  for (const cond of match.attributes ?? []) {
    tests.push((r) => {
      const value = attributeValue(r, cond.key);
      if (cond.exists !== undefined && (value !== undefined) !== cond.exists) return false;
      if (cond.equals !== undefined && value !== cond.equals) return false;
      if (cond.pattern !== undefined && (value === undefined || !cond.pattern.test(value))) return false;
      return true;
    });
  }
  if (match.body) {
    const { contains, pattern } = match.body;
    if (contains !== undefined) tests.push((r) => r.body.includes(contains));
    if (pattern !== undefined) tests.push((r) => pattern.test(r.body));
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0];
  return (r) => tests.every((t) => t(r));
}
