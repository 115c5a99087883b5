/**
 * How AnyValue values are stored as text (log bodies and attribute values):
 * - string: the string itself;
 * - bool: `true` / `false`; int: decimal digits (exact for all 64 bits); double: JavaScript's
 *   shortest round-trip form (`NaN`, `Infinity` as words); bytes: base64;
 * - array and kvlist: JSON (nested strings quoted, kvlist as an object, ints as JSON numbers);
 * - an AnyValue with no member set: the empty string.
 * The protobuf and JSON decoders both render through these helpers, so both wire
 * formats give the same row.
 */
export function jsonDouble(value: number): string {
  return Number.isFinite(value) ? String(value) : JSON.stringify(String(value));
}

export function jsonArray(items: string[]): string {
  return `[${items.join(',')}]`;
}

export function jsonObject(keys: string[], values: string[]): string {
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ',';
    out += JSON.stringify(keys[i]) + ':' + values[i];
  }
  return out + '}';
}
