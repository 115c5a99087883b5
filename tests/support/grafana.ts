import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** The dashboards of deploy/grafana/dashboards, and their SQL as the ClickHouse plugin runs it. */
export const DASHBOARDS_DIR = path.resolve(__dirname, '../../deploy/grafana/dashboards');

export interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query: string }> };
  panels: Array<{ title: string; targets: Array<{ rawSql: string }> }>;
}

export function loadDashboards(): Dashboard[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, f), 'utf8')));
}

/**
 * A panel's SQL with the plugin's macros and Grafana's variables expanded for the
 * last hour (`distlog_ui`: the web UI's address), and the dashboards' `distlog.`
 * database replaced by `database`.
 */
export function expandPanelSql(
  sql: string,
  database: string,
  services: string[],
  distlogUi = 'http://127.0.0.1:4320',
): string {
  const to = Math.floor(Date.now() / 1000) + 60;
  const from = to - 3600 - 60;
  return sql
    .replace(
      /\$__timeFilter\((\w+)\)/g,
      (_m, col) => `${col} >= toDateTime(${from}) AND ${col} <= toDateTime(${to})`,
    )
    .replace(/\$__interval_s/g, '60')
    .replace(/\$\{service:singlequote\}/g, services.map((s) => `'${s.replace(/'/g, "\\\\'")}'`).join(','))
    .replace(/\$min_severity/g, '1')
    .replace(/\$\{scope:sqlstring\}/g, "'charge card'")
    .replace(/\$\{distlog_ui\}/g, distlogUi)
    .replace(
      /\bdistlog\.(all_logs|volume_by_minute|trace_index|logs|debug|longterm|metric_minutes|metric_hours|metric_days)\b/g,
      `${database}.$1`,
    );
}
