/**
 * The collector's own diagnostics: one JSON object per line on stderr, so they can be
 * shipped like any other log. Kept tiny on purpose; the collector does not log per record.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: number = ORDER[(process.env.DISTLOG_LOG_LEVEL as LogLevel) ?? 'info'] ?? ORDER.info;

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  process.stderr.write(
    JSON.stringify({ time: new Date().toISOString(), level, component: 'collector', msg, ...fields }) + '\n',
  );
}
