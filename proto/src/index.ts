// @distlog/proto: what crosses process boundaries in Distlog — the OTLP logs and level-control
// .proto files (in this package's opentelemetry/ and distlog/ folders), their gRPC service
// definitions and the level-control messages' codecs, the protobuf wire reader and writer
// every part encodes and decodes with (the SDK's exporter, the collector's decoder,
// RowBinary and forward encoders), and the duration syntax every part reads.
export { WireWriter, WIRE_VARINT, WIRE_FIXED64, WIRE_LEN, WIRE_FIXED32 } from './wire-writer';
export { WireReader, DecodeError, expectWireType } from './wire-reader';
export { StringTable, MAX_TABLE_STRING_BYTES } from './string-table';
export { PROTO_DIR, logsServiceDefinition, traceServiceDefinition } from './services';
export type { RawMethod } from './services';
export { durationMs, DURATION_PATTERN } from './duration';
export { refusedAsTooLarge } from './request-size';
export { LEVELS, isExpired, nextExpiry, patternToRegExp } from './level-rules';
export type { Level, LevelRule } from './level-rules';
export {
  encodeSubscribeRequest,
  decodeSubscribeRequest,
  encodeLevelReport,
  decodeLevelReport,
  encodeLevelRules,
  decodeLevelRules,
  levelControlServiceDefinition,
} from './control-wire';
export type {
  SubscribeRequest,
  LevelReport,
  EffectiveLevel,
  EffectiveLevels,
  MethodDefinition,
} from './control-wire';
