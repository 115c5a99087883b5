/**
 * A small validator that walks parsed configuration and collects every problem with
 * its key path (`rules[2].match.severity.atLeast: expected one of …, got "LOUD"`),
 * so one run reports all mistakes, not the first.
 */
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

export type Json = unknown;

export class Checker {
  readonly problems: string[] = [];

  fail(path: string, expected: string, got: Json): void {
    this.problems.push(`${path || '(top level)'}: expected ${expected}, got ${describe(got)}`);
  }

  problem(path: string, message: string): void {
    this.problems.push(`${path || '(top level)'}: ${message}`);
  }

  object(path: string, value: Json, allowed: readonly string[]): Record<string, Json> | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(path, 'a mapping', value);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key))
        this.problem(join(path, key), `unknown key (allowed: ${allowed.join(', ')})`);
    }
    return value as Record<string, Json>;
  }

  string(path: string, value: Json, fallback?: string): string | undefined {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value === '') {
      this.fail(path, 'a non-empty string', value);
      return fallback;
    }
    return value;
  }

  number(
    path: string,
    value: Json,
    options: { min?: number; max?: number; integer?: boolean },
    fallback?: number,
  ): number | undefined {
    if (value === undefined) return fallback;
    const { min = -Infinity, max = Infinity, integer = false } = options;
    if (
      typeof value !== 'number' ||
      !Number.isFinite(value) ||
      value < min ||
      value > max ||
      (integer && !Number.isInteger(value))
    ) {
      const range = `${min === -Infinity ? '' : `≥ ${min}`}${min !== -Infinity && max !== Infinity ? ' and ' : ''}${max === Infinity ? '' : `≤ ${max}`}`;
      this.fail(path, `${integer ? 'a whole number' : 'a number'}${range ? ' ' + range : ''}`, value);
      return fallback;
    }
    return value;
  }

  boolean(path: string, value: Json, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') {
      this.fail(path, 'true or false', value);
      return fallback;
    }
    return value;
  }

  list(path: string, value: Json): Json[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.fail(path, 'a list', value);
      return [];
    }
    return value;
  }

  /** A string or a list of strings, as a list. */
  strings(path: string, value: Json): string[] | undefined {
    if (value === undefined) return undefined;
    const items = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
    if (!items || items.length === 0 || items.some((v) => typeof v !== 'string' || v === '')) {
      this.fail(path, 'a non-empty string or a list of them', value);
      return undefined;
    }
    return items as string[];
  }

  regex(path: string, value: Json): RegExp | undefined {
    const source = this.string(path, value);
    if (source === undefined) return undefined;
    try {
      return new RegExp(source);
    } catch (err) {
      this.problem(path, `invalid regular expression: ${(err as Error).message}`);
      return undefined;
    }
  }
}

export function join(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

export function describe(value: Json): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}

/** Sizes as numbers of bytes or strings like `16MiB`, `512 KiB`, `1GB`. */
export function parseSize(checker: Checker, path: string, value: Json, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const m =
    typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/i.exec(value) : null;
  if (!m) {
    checker.fail(path, 'a size such as 1048576, "512KiB", "16MiB" or "1GiB"', value);
    return fallback;
  }
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  return Math.round(Number(m[1]) * units[(m[2] ?? 'b').toLowerCase()]);
}

/** Durations as milliseconds or strings like `200ms`, `5s`, `15m`, `2h`, `3d`. */
export function parseDuration(checker: Checker, path: string, value: Json, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value >= 0) return value;
  const ms = typeof value === 'string' ? durationMs(value) : undefined;
  if (ms === undefined) {
    checker.fail(path, 'a duration such as 500 (ms), "200ms", "5s", "15m", "2h" or "3d"', value);
    return fallback;
  }
  return ms;
}

export function durationMs(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!m) return undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  return Number(m[1]) * units[m[2]];
}
