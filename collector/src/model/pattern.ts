/**
 * Log patterns: a message's template — its variable parts replaced by placeholders — and
 * the template's 64-bit id, computed by the collector for every record it stores (the
 * tiers' `PatternId` column, migration 0019) so that grouping a day of records by
 * pattern reads one UInt64 column. The patterns view shows the template of one of a
 * pattern's messages, made by this same function.
 *
 * In order, in the first 500 characters: quoted strings → <str>, UUIDs → <uuid>, runs of
 * 8+ hex digits → <hex>, numbers starting at a word boundary → <num> (`10ms` →
 * `<num>ms`, `pay-4` → `pay-<num>`, `v2` stays).
 */
export const PATTERN_PREFIX_CHARS = 500;

const STEPS: Array<[RegExp, string]> = [
  [/"[^"]*"|'[^']*'/g, '<str>'],
  [/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g, '<uuid>'],
  [/\b[0-9a-fA-F]{8,}\b/g, '<hex>'],
  [/\b\d+(?:\.\d+)?/g, '<num>'],
];
const MAYBE_VARIABLE = /["'0-9]/;

export function templateOf(body: string): string {
  let t = body.length > PATTERN_PREFIX_CHARS ? body.slice(0, PATTERN_PREFIX_CHARS) : body;
  // Most messages of a template-free kind ("connected") skip the replaces.
  if (!MAYBE_VARIABLE.test(t) && !/[a-fA-F]{8}/.test(t)) return t;
  for (const [re, placeholder] of STEPS) t = t.replace(re, placeholder);
  return t;
}

/**
 * The template's id: two 32-bit FNV-1a style hashes with different seeds, as [high, low]
 * (written as one UInt64 without a BigInt per record).
 */
export function patternIdOf(body: string): [number, number] {
  const t = templateOf(body);
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return [h1 >>> 0, h2 >>> 0];
}

/** The id as the API writes it: hex without leading zeros. */
export function patternHex([high, low]: [number, number]): string {
  return high === 0 ? low.toString(16) : high.toString(16) + low.toString(16).padStart(8, '0');
}
