/**
 * The one place where values and names become SQL text. Names are checked against a
 * strict identifier pattern (never escaped-and-hoped). Values: on servers with query
 * parameters (19.11+: every current release, the embedded store) as `{pN:String}`
 * placeholders sent beside the SQL (SqlValues); on 18.16, which has none, as escaped
 * ClickHouse string literals.
 */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function identifier(name: string, what = 'identifier'): string {
  if (!IDENTIFIER.test(name)) {
    throw new Error(
      `invalid ${what} ${JSON.stringify(name)}: expected letters, digits and _ (not starting with a digit)`,
    );
  }
  return name;
}

/** `db.table` with both parts checked. */
export function qualified(database: string, table: string): string {
  return `${identifier(database, 'database name')}.${identifier(table, 'table name')}`;
}

/** A ClickHouse single-quoted string literal; backslash and quote escaped, control bytes as \xHH. */
export function stringLiteral(value: string): string {
  let out = "'";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const ch = value[i];
    if (ch === "'" || ch === '\\') out += '\\' + ch;
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + "'";
}

export function intLiteral(value: number | bigint): string {
  if (typeof value === 'number' && !Number.isInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}

/**
 * The string values of one query. `str()` gives the SQL for a value: a `{pN:String}`
 * placeholder (kept in `params`, sent as the query's parameters) when the server has
 * query parameters, else an escaped literal. One per query.
 */
export class SqlValues {
  readonly params: Record<string, string> = {};
  private next = 0;

  /**
   * @param useParameters the server has `{name:Type}` query parameters
   * @param likeForText text conditions as `lower(col) LIKE '%…%'`, the form the body's
   *   n-gram index (migration 0006, servers with skip indexes) is used for
   */
  constructor(
    private readonly useParameters: boolean,
    private readonly likeForText = false,
    private readonly dateTime64 = false,
  ) {}

  /**
   * `column` (the tiers' `Timestamp`) within the whole seconds `fromSec`…`toSec`, both
   * included, whatever its precision. Where the server has DateTime64 the column is
   * compared as `toDateTime(column)`: chDB 26.7 compared a DateTime64(9) column with a
   * DateTime constant wrongly, and not always the same way (records of the last second
   * missing from trace lookups); the conversion is monotonic, so the sort key still narrows
   * the read. 18.16 (DateTime only) compares the column itself.
   */
  secondsRange(column: string, fromSec: number | bigint, toSec: number | bigint): string {
    const col = identifier(column, 'column name');
    const c = this.dateTime64 ? `toDateTime(${col})` : col;
    return `${c} >= toDateTime(${intLiteral(fromSec)}) AND ${c} <= toDateTime(${intLiteral(toSec)})`;
  }

  /**
   * `column` contains `text`, ignoring ASCII case (as positionCaseInsensitive does). Where
   * the server has skip indexes, as `lower(column) LIKE` with LIKE's `%`, `_` and `\`
   * escaped, which ClickHouse checks against an n-gram index over `lower(column)`.
   */
  containsText(column: string, text: string): string {
    const col = identifier(column, 'column name');
    if (!this.likeForText) return `positionCaseInsensitive(${col}, ${this.str(text)}) > 0`;
    const lowered = text.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
    return `lower(${col}) LIKE ${this.str('%' + lowered.replace(/[\\%_]/g, '\\$&') + '%')}`;
  }

  str(value: string): string {
    if (!this.useParameters) return stringLiteral(value);
    const name = `p${this.next++}`;
    this.params[name] = value;
    return `{${name}:String}`;
  }

  /** `a, b, c` for an IN list. */
  list(values: readonly string[]): string {
    return values.map((value) => this.str(value)).join(', ');
  }
}
