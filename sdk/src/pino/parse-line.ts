/**
 * The key written before a line's scope attributes, listing them (see trace-context.ts):
 * `…,"msg":"…","distlog_scope":["orderId"],"orderId":"A-1","trace_id":…}`.
 */
export const SCOPE_KEYS = 'distlog_scope';
const MARK = `,"${SCOPE_KEYS}":[`;

/**
 * A pino line as its record gets it. The app's thread appends the enclosing scopes'
 * attributes at the end of the line, after the call's own fields and the child's
 * bindings, so for a key both have, JSON.parse alone would keep the scope's value. The
 * more specific one wins instead — the call's, then the child's — as in pino's own mixin
 * merge and in the in-process destination. A second parse, of the line without its end,
 * only where a scope key also appears before it.
 */
export function parsePinoLine(line: string): unknown {
  const value = JSON.parse(line) as unknown;
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const keys = record[SCOPE_KEYS];
  if (!Array.isArray(keys)) return value;
  const cut = line.lastIndexOf(MARK);
  if (cut < 0) return value;
  const head = line.slice(0, cut);
  const repeated = keys.filter(
    (k): k is string => typeof k === 'string' && head.includes(`${JSON.stringify(k)}:`),
  );
  if (repeated.length === 0) return value;
  let own: Record<string, unknown>;
  try {
    own = JSON.parse(head + '}') as Record<string, unknown>;
  } catch {
    return value; // a key's text inside a value, not a key: nothing of the line's own to prefer
  }
  for (const k of repeated) if (Object.hasOwn(own, k)) record[k] = own[k];
  return value;
}
