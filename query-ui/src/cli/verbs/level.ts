import { parseArgs } from 'node:util';
import { UsageError } from '../settings';
import type { ApiLevelInstance, ApiLevelRule } from '../../shared/api-types';
import type { Command } from '../command';
import { authHeaders, apiAnswer, apiBase } from '../api-client';

type ApiRule = ApiLevelRule;

type ApiInstance = ApiLevelInstance;

const LEVEL_OPTIONS = {
  service: { type: 'string' },
  logger: { type: 'string' },
  for: { type: 'string' },
  until: { type: 'string' },
  id: { type: 'string' },
  by: { type: 'string' },
  json: { type: 'boolean' },
  api: { type: 'string' },
  'on-error': { type: 'boolean' },
} as const;

async function levelRequest<T>(base: string, method: string, query = '', body?: object): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}/api/levels${query}`, {
      method,
      headers: { ...authHeaders(), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new Error(
      `cannot reach the Distlog API at ${base} (${(err as Error).message}); is \`distlog up\` running?`,
      { cause: err },
    );
  }
  return apiAnswer<T>(res, `${base}/api/levels`);
}

export const level: Command = {
  summary:
    'change log levels at run time: `level set|list|clear` (e.g. DEBUG for one logger of one service, for 15 minutes)',
  usage:
    'distlog level set LEVEL [--service NAME] [--logger PATTERN] [--for 15m | --until TIME] [--on-error]\n' +
    '       (--on-error: DEBUG/TRACE is generated but held in each process, and sent only for the\n' +
    '        requests (traces) that fail there)\n' +
    '       distlog level list [--json]\n' +
    '       distlog level clear (--id ID | --service NAME [--logger PATTERN])',
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: LEVEL_OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new UsageError(`${(err as Error).message}\nusage: ${this.usage}`);
    }
    const { values: flags, positionals } = parsed;
    const base = apiBase(flags);
    const [sub, levelName] = positionals;
    const by = flags.by ?? process.env.USER ?? 'cli';
    if (sub === 'set') {
      if (!levelName)
        throw new UsageError(
          `a LEVEL is needed (trace, debug, info, warn, error, fatal, silent)\nusage: ${this.usage}`,
        );
      const { rule, notes } = await levelRequest<{ rule: ApiRule; notes?: string[] }>(base, 'POST', '', {
        service: flags.service ?? '*',
        logger: flags.logger ?? '*',
        level: levelName,
        ...(flags.for ? { for: flags.for } : {}),
        ...(flags.until ? { expiresAt: flags.until } : {}),
        ...(flags['on-error'] ? { onError: true } : {}),
        setBy: by,
      });
      process.stdout.write(
        `rule ${rule.id}: ${rule.service} / ${rule.logger} → ${rule.level}${rule.onError ? ', held and sent only when a request fails' : ''}${rule.expiresAt ? ` until ${rule.expiresAt}` : ' (no expiry)'}\n`,
      );
      for (const note of notes ?? []) process.stderr.write(`distlog: ${note}\n`);
      return 0;
    }
    if (sub === 'list') {
      const { rules, instances } = await levelRequest<{ rules: ApiRule[]; instances: ApiInstance[] }>(
        base,
        'GET',
      );
      if (flags.json) {
        process.stdout.write(JSON.stringify({ rules, instances }) + '\n');
        return 0;
      }
      const lines = ['rules:'];
      if (rules.length === 0) lines.push('  (none)');
      for (const r of rules) {
        lines.push(
          `  ${r.id}  ${r.service} / ${r.logger} → ${r.level}${r.onError ? ' ON ERROR (held until a request fails)' : ''}${r.expiresAt ? `  until ${r.expiresAt}` : ''}  (set by ${r.setBy} at ${r.setAt})`,
        );
      }
      lines.push('processes:');
      if (instances.length === 0) lines.push('  (none connected)');
      for (const i of instances) {
        if (i.connected === false) {
          lines.push(
            `  ${i.service} ${i.instance}  NOT CONNECTED: sends logs (last ${i.lastSeenAt}) but does not follow level rules — see its stderr`,
          );
          continue;
        }
        lines.push(`  ${i.service} ${i.instance}${i.collector ? `  via ${i.collector}` : ''}`);
        for (const [name, l] of Object.entries(i.loggers)) {
          lines.push(
            `    ${name.padEnd(24)} ${l.level.padEnd(6)} configured ${l.configured ?? '-'}${l.rule ? `  by rule ${l.rule}` : ''}${l.onError ? '  held until an error' : ''}`,
          );
        }
      }
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    }
    if (sub === 'clear') {
      const q = new URLSearchParams();
      if (flags.id) q.set('id', flags.id);
      if (flags.service) q.set('service', flags.service);
      if (flags.logger) q.set('logger', flags.logger);
      if ([...q.keys()].length === 0)
        throw new UsageError(
          `name the rules to clear: --id, or --service and/or --logger\nusage: ${this.usage}`,
        );
      q.set('by', by);
      const { removed } = await levelRequest<{ removed: ApiRule[] }>(base, 'DELETE', `?${q}`);
      process.stdout.write(`cleared ${removed.length} rule${removed.length === 1 ? '' : 's'}\n`);
      return 0;
    }
    throw new UsageError(`unknown level command ${JSON.stringify(sub ?? '')}\nusage: ${this.usage}`);
  },
};
