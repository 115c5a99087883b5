import type { z } from 'zod';
import { readSecret, readTlsFiles } from '../auth/auth-config';

/**
 * The checks of a configuration that need more than one key at a time: names defined
 * twice, a rule naming a tier or destination that does not exist, actions that exclude
 * each other, secrets read from the environment or files, TLS files. They run on the file
 * as written, whatever else is wrong with it (so one run names every mistake), and so
 * take nothing for granted about its shape.
 */
type Ctx = z.RefinementCtx;
type Raw = Record<string, unknown>;

const isMapping = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): Array<[number, Raw]> =>
  Array.isArray(v) ? v.flatMap((item, i) => (isMapping(item) ? [[i, item] as [number, Raw]] : [])) : [];
const stringOf = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const stringsOf = (v: unknown): string[] =>
  typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];

function problem(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path: path as Array<string | number>, message });
}

const RESERVED_RULE_NAMES = ['default'];

/** Tiers, destinations, rules, the default action, the cluster, metrics: names and references. */
export function checkRouting(file: Raw, ctx: Ctx): void {
  // Names as declared, valid or not: a rule is checked against them, so a bad tier gives one problem.
  const tierNames: string[] = [];
  for (const [i, t] of entries(file.tiers)) {
    const name = stringOf(t.name);
    if (name && tierNames.includes(name))
      problem(ctx, ['tiers', i, 'name'], `tier "${name}" is defined twice`);
    if (name) tierNames.push(name);
  }
  if (Array.isArray(file.tiers) && file.tiers.length === 0)
    problem(ctx, ['tiers'], 'at least one tier is needed');
  const destinationNames: string[] = [];
  for (const [i, d] of entries(file.destinations)) {
    const name = stringOf(d.name);
    if (name && destinationNames.includes(name))
      problem(ctx, ['destinations', i, 'name'], `destination "${name}" is defined twice`);
    if (name) destinationNames.push(name);
  }
  const names = { tiers: tierNames, destinations: destinationNames };
  const ruleNames: string[] = [];
  for (const [i, r] of entries(file.rules)) {
    const name = stringOf(r.name);
    if (name && RESERVED_RULE_NAMES.includes(name))
      problem(ctx, ['rules', i, 'name'], `"${name}" is reserved`);
    else if (name && ruleNames.includes(name))
      problem(ctx, ['rules', i, 'name'], `rule "${name}" is defined twice`);
    if (name) ruleNames.push(name);
    checkAction(r, ['rules', i], names, ctx);
  }
  if (isMapping(file.default)) checkAction(file.default, ['default'], names, ctx);

  const ch = isMapping(file.clickhouse) ? file.clickhouse : {};
  const replicated = ch.replicated === true || ch.replicated === 'true';
  if (replicated && !stringOf(ch.cluster))
    problem(
      ctx,
      ['clickhouse', 'replicated'],
      'replicated tables live on the shards of a cluster: set clickhouse.cluster too',
    );

  const metricNames: string[] = [];
  for (const [i, m] of entries(file.metrics)) {
    const name = stringOf(m.name);
    if (name && metricNames.includes(name))
      problem(ctx, ['metrics', i, 'name'], `metric "${name}" is defined twice`);
    if (name) metricNames.push(name);
  }
}

function checkAction(
  o: Raw,
  at: PropertyKey[],
  names: { tiers: string[]; destinations: string[] },
  ctx: Ctx,
): void {
  const store = stringOf(o.store);
  if (store && !names.tiers.includes(store))
    problem(ctx, [...at, 'store'], `unknown tier "${store}" (tiers: ${names.tiers.join(', ') || 'none'})`);
  const forward = stringsOf(o.forward);
  for (const d of forward)
    if (!names.destinations.includes(d))
      problem(
        ctx,
        [...at, 'forward'],
        `unknown destination "${d}" (destinations: ${names.destinations.join(', ') || 'none'})`,
      );
  const drop = o.drop === true;
  const reject = o.reject !== undefined && o.reject !== false;
  const routes = store !== undefined || forward.length > 0;
  if ((drop || reject) && routes)
    problem(ctx, at, '`drop` and `reject` cannot be combined with store or forward');
  if (drop && reject) problem(ctx, at, '`drop` and `reject` exclude each other');
  if (!drop && !reject && !routes)
    problem(ctx, at, 'needs an action: store: TIER, forward: DESTINATION, drop: true or reject: MESSAGE');
  if (o.sample !== undefined && (drop || reject))
    problem(ctx, [...at, 'sample'], 'sample applies to store/forward');
}

/** Every secret readable, none used twice, no name used twice (across keys, users and session keys). */
export function checkAuth(raw: unknown, env: NodeJS.ProcessEnv, ctx: Ctx): void {
  if (!isMapping(raw)) return;
  const secrets = new Map<string, string>();
  const names = new Set<string>();
  for (const [list, kind] of [
    ['ingestKeys', 'key'],
    ['users', 'token'],
    ['sessionKeys', 'key'],
  ] as const) {
    for (const [i, entry] of entries(raw[list])) {
      const at = ['auth', list, i];
      const name = stringOf(entry.name);
      if (name && names.has(name)) problem(ctx, [...at, 'name'], `${JSON.stringify(name)} is used twice`);
      if (name) names.add(name);
      const read = readSecret(entry, kind, env);
      if ('problem' in read) {
        problem(ctx, read.key ? [...at, read.key] : at, read.problem);
        continue;
      }
      const other = secrets.get(read.secret);
      if (other) problem(ctx, at, `has the same secret as ${other}`);
      secrets.set(read.secret, name ?? `auth.${list}[${i}]`);
    }
  }
}

export function checkTls(raw: unknown, ctx: Ctx): void {
  if (!isMapping(raw)) return;
  if (!stringOf(raw.certFile) || !stringOf(raw.keyFile)) {
    problem(ctx, ['tls'], 'needs certFile and keyFile (PEM)');
    return;
  }
  for (const [key, message] of readTlsFiles(raw).problems) problem(ctx, ['tls', key], message);
  if ((raw.clientCertFile === undefined) !== (raw.clientKeyFile === undefined))
    problem(
      ctx,
      ['tls'],
      'clientCertFile and clientKeyFile go together (the query server’s client certificate)',
    );
}
