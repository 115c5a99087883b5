/**
 * The one rule that names a pino logger — used by the mapper (the record's
 * instrumentation scope, which search, the trace tree and the UI show), by the level
 * registry (which rules apply) and so by `distlog level list`: the `logger` binding,
 * else `module`, else pino's `name`; a logger with none of them is `pino`.
 */
export const SCOPE_KEYS = ['logger', 'module', 'name'] as const;
export const DEFAULT_LOGGER_NAME = 'pino';

/** The naming fields of a logger's bindings (a child's are its own over its parent's). */
export type LoggerNaming = Partial<Record<(typeof SCOPE_KEYS)[number], string>>;

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The key that names the logger of a line or a set of bindings, if any. */
export function namingKey(fields: Record<string, unknown>): (typeof SCOPE_KEYS)[number] | undefined {
  for (const key of SCOPE_KEYS) if (text(fields[key]) !== undefined) return key;
  return undefined;
}

export function loggerName(fields: Record<string, unknown>): string {
  const key = namingKey(fields);
  return key ? (fields[key] as string) : DEFAULT_LOGGER_NAME;
}

/** What names a child: each of its own bindings' naming fields, else its parent's. */
export function childNaming(
  parent: LoggerNaming,
  bindings: Record<string, unknown> | undefined,
): LoggerNaming {
  const naming: LoggerNaming = {};
  for (const key of SCOPE_KEYS) {
    const value = text(bindings?.[key]) ?? parent[key];
    if (value !== undefined) naming[key] = value;
  }
  return naming;
}
