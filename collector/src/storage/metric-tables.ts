/** The rollup tables of declared metrics, finest first (migrations 0015–0017). */
export const METRIC_TABLES = ['metric_minutes', 'metric_hours', 'metric_days'] as const;
/** What the collectors run (migration 0018). */
export const METRIC_DEFINITIONS_TABLE = 'metric_definitions';
