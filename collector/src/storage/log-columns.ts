/**
 * The columns the collector writes into every tier table, in the order of its RowBinary
 * rows (sinks/clickhouse/row-binary.ts). Here, apart from the encoder, so that what reads
 * the schema (`distlog schema status`, the query server) needs none of the collector's runtime.
 */
export const LOG_COLUMNS = [
  'Timestamp',
  'TimeUnixNano',
  'ObservedTimeUnixNano',
  'SeverityNumber',
  'SeverityText',
  'ServiceName',
  'ScopeName',
  'ScopeVersion',
  'EventName',
  'Body',
  'TraceId',
  'SpanId',
  'TraceFlags',
  'ResourceSchemaUrl',
  'ResourceAttributes.key',
  'ResourceAttributes.value',
  'ScopeAttributes.key',
  'ScopeAttributes.value',
  'LogAttributes.key',
  'LogAttributes.value',
  'DroppedAttributesCount',
  'BatchId',
  'RequestId',
  'PatternId',
] as const;
