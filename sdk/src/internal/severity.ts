import { SeverityNumber } from '@opentelemetry/api-logs';

/** pino's default levels. */
export const PINO_LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

const BASES: ReadonlyArray<[level: number, severity: SeverityNumber]> = [
  [10, SeverityNumber.TRACE],
  [20, SeverityNumber.DEBUG],
  [30, SeverityNumber.INFO],
  [40, SeverityNumber.WARN],
  [50, SeverityNumber.ERROR],
  [60, SeverityNumber.FATAL],
];

/**
 * pino level number → OTel SeverityNumber. The six standard levels map to TRACE,
 * DEBUG, INFO, WARN, ERROR, FATAL; a custom level between two of them takes the
 * lower one's range and a sub-step (e.g. 35 → INFO3), so ordering is preserved.
 */
export function severityOfPinoLevel(level: number): SeverityNumber {
  if (level <= 10) return SeverityNumber.TRACE;
  for (let i = BASES.length - 1; i >= 0; i--) {
    const [base, severity] = BASES[i];
    if (level >= base) {
      const next = i + 1 < BASES.length ? BASES[i + 1][0] : base + 40;
      return severity + Math.min(3, Math.floor(((level - base) / (next - base)) * 4));
    }
  }
  return SeverityNumber.TRACE;
}
