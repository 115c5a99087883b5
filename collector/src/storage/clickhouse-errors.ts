/**
 * What a ClickHouse error says about its cause. `@clickhouse/client` puts the server's
 * error code in `code` (a string) and its name in `type` for current servers; for 18.16,
 * whose error text it does not parse, the code is only at the message's start
 * ("Code: 60, e.displayText() = …"). Current servers write "Code: 60. DB::Exception: …".
 */
export function clickHouseErrorCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  const m = typeof e?.message === 'string' ? /^Code: (\d+)\b/.exec(e.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** ClickHouse's UNKNOWN_TABLE (60). */
export function isMissingTable(err: unknown): boolean {
  return clickHouseErrorCode(err) === 60 || (err as { type?: unknown })?.type === 'UNKNOWN_TABLE';
}

/**
 * Errors in which ClickHouse refused the data it was sent, or the statement for the
 * table's columns, rather than being unavailable: the same bytes fail the same way on
 * every attempt (a damaged spool file, a column changed by hand). Everything else —
 * no answer, timeouts, memory, too many parts, read-only, credentials, a missing table —
 * may pass later and is retried for as long as it takes.
 */
const REFUSED_DATA = new Map<number, string>([
  [6, 'CANNOT_PARSE_TEXT'],
  [8, 'THERE_IS_NO_COLUMN'],
  [10, 'NOT_FOUND_COLUMN_IN_BLOCK'],
  [16, 'NO_SUCH_COLUMN_IN_TABLE'],
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  [33, 'CANNOT_READ_ALL_DATA'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [43, 'ILLEGAL_TYPE_OF_ARGUMENT'],
  [44, 'ILLEGAL_COLUMN'],
  [47, 'UNKNOWN_IDENTIFIER'],
  [53, 'TYPE_MISMATCH'],
  [62, 'SYNTAX_ERROR'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'],
  [117, 'INCORRECT_DATA'],
  [128, 'TOO_LARGE_ARRAY_SIZE'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [469, 'VIOLATED_CONSTRAINT'],
]);

/** The error's name when ClickHouse refused the data itself (REFUSED_DATA), else undefined. */
export function refusedData(err: unknown): string | undefined {
  const code = clickHouseErrorCode(err);
  return code === undefined ? undefined : REFUSED_DATA.get(code);
}
