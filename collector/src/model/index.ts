// `@distlog/collector/model`: the record as Distlog stores it — the row shape, severity
// names, message patterns. Plain data and functions, no I/O.
export type { LogRow, Attributes, ResourceInfo, ScopeInfo } from './log-row';
export { SEVERITY_TEXT_BY_NUMBER, makeRow } from './log-row';
export { templateOf, patternHex } from './pattern';
