/**
 * Durations as Distlog's parts write them — `200ms`, `5s`, `15m`, `2h`, `3d` — in one
 * place: the collector's configuration, level rules (`--for 15m`), the query API's
 * `since`, all read them with this.
 */
/** What durationMs reads (for schemas that state the format). */
export const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds, or undefined when `text` is not a duration (`units` narrows the units taken). */
export function durationMs(
  text: string,
  units: readonly string[] = Object.keys(UNIT_MS),
): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (!m || !units.includes(m[2])) return undefined;
  return Number(m[1]) * UNIT_MS[m[2]];
}
