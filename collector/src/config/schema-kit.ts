import { DURATION_PATTERN, durationMs } from '@distlog/proto';
import { z } from 'zod';

/**
 * Building blocks of the configuration schema (schema.ts), on zod: each one validates,
 * fills its default, describes itself for the published JSON Schema, and says what was
 * wrong the project's way — `expected <what>, got <what was there>`, under the key path
 * (`rules[2].match.severity.atLeast: expected a severity name …, got "LOUD"`).
 */

/** One configuration problem per line, with its key path; every problem of a file at once. */
export class ConfigErrors extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigErrors';
  }
}

/** How a value is named in a message (never the whole of a long or secret value's neighbours). */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

export function join(path: string, key: PropertyKey): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key);
}

export function pathText(path: readonly PropertyKey[]): string {
  return path.reduce<string>((at, key) => join(at, key), '');
}

/** The error of a check that failed: `expected WHAT, got …` (the input is named, not dumped). */
export function expected(what: string): { error: (issue: { input?: unknown }) => string } {
  return { error: (issue) => `expected ${what}, got ${describeValue(issue.input)}` };
}

/** Zod's issues as the project's problem lines (unknown keys: one line per key). */
export function problemLines(error: z.ZodError): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    const at = pathText(issue.path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${join(at, key)}: ${issue.message}`);
    } else {
      lines.push(`${at || '(top level)'}: ${issue.message}`);
    }
  }
  return lines;
}

/** A mapping with only the keys of `shape` (an unknown key is named with the allowed ones). */
export function mapping<T extends z.ZodRawShape>(shape: T, description: string) {
  const allowed = Object.keys(shape).join(', ');
  return z
    .strictObject(shape, {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? `unknown key (allowed: ${allowed})`
          : `expected a mapping, got ${describeValue(issue.input)}`,
    })
    .describe(description);
}

/** A mapping from any key to `value` (headers, attribute conditions). */
export function anyKeys<T extends z.ZodType>(value: T, description: string) {
  return z.record(z.string(), value, expected('a mapping')).describe(description);
}

export function list<T extends z.ZodType>(item: T, description: string) {
  return z.array(item, expected('a list')).describe(description);
}

export function text(description: string) {
  const e = expected('a non-empty string');
  return z.string(e).min(1, e).describe(description);
}

export function flag(description: string) {
  return z.boolean(expected('true or false')).describe(description);
}

/** A number within a range (`integer`: whole numbers only). */
export function number(
  description: string,
  options: { min?: number; max?: number; integer?: boolean } = {},
): z.ZodNumber {
  const { min, max, integer = false } = options;
  const range = [min !== undefined ? `≥ ${min}` : '', max !== undefined ? `≤ ${max}` : '']
    .filter(Boolean)
    .join(' and ');
  const e = expected(`${integer ? 'a whole number' : 'a number'}${range ? ' ' + range : ''}`);
  let schema = z.number(e);
  if (integer) schema = schema.int(e);
  if (min !== undefined) schema = schema.min(min, e);
  if (max !== undefined) schema = schema.max(max, e);
  return schema.describe(description);
}

/** A string or a list of strings (globs, names), as a list. */
export function names(description: string) {
  const e = expected('a non-empty string or a list of them');
  return z
    .union([z.string(e).min(1, e), z.array(z.string(e).min(1, e), e).min(1, e)], e)
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .describe(description);
}

/** A non-empty list of non-empty names (`what`: e.g. "service names"). */
export function nameList(what: string, description: string) {
  const e = expected(`a non-empty list of ${what}`);
  return z.array(z.string(e).min(1, e), e).min(1, e).describe(description);
}

/** A regular expression's source, checked to compile. */
export function regexText(description: string) {
  return text(description).superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
    }
  });
}

/** Milliseconds, or a string such as "200ms", "5s", "15m", "2h", "3d"; `range` bounds the result. */
export function duration(description: string, range: { minMs?: number; maxMs?: number; what?: string } = {}) {
  const e = expected(range.what ?? 'a duration such as 500 (ms), "200ms", "5s", "15m", "2h" or "3d"');
  const { minMs = 0, maxMs = Infinity } = range;
  return z
    .union([z.number(e).min(0, e), z.string(e).regex(DURATION_PATTERN, e)], e)
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v : durationMs(v)!;
      if (ms < minMs || ms > maxMs) ctx.addIssue({ code: 'custom', message: e.error({ input: v }) });
      return ms;
    })
    .describe(description);
}

const SIZE = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Bytes, or a string such as "512KiB", "16MiB", "1GiB". */
export function size(description: string) {
  const e = expected('a size such as 1048576, "512KiB", "16MiB" or "1GiB"');
  return z
    .union([z.number(e).int(e).min(1, e), z.string(e).regex(SIZE, e)], e)
    .transform((v) => {
      if (typeof v === 'number') return v;
      const m = SIZE.exec(v)!;
      return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]);
    })
    .describe(description);
}

/** A name ClickHouse takes unquoted: letters, digits and _, not starting with a digit. */
export function sqlName(what: string, description: string) {
  const e = expected(`a ${what} of letters, digits and _`);
  return z
    .string(e)
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, e)
    .describe(description);
}
