export { init, shutdown, getDistlog } from './init';
export type { Distlog } from './init';
export type { DistlogOptions, OtlpProtocol } from './config';
export { distlogDestination } from './pino/destination';
export type { DestinationOptions, DistlogDestination } from './pino/destination';
export { traceMixin, appendTraceContext } from './pino/trace-context';
export { withTraceContext } from './pino/factory';
export { hookPino } from './pino/module-hook';
export {
  scope,
  runScope,
  scopeAttributes,
  SCOPE_START_EVENT,
  SCOPE_END_EVENT,
  SCOPE_LOGGER_NAME,
} from './scope';
export type { ScopeAttributes } from './scope';
export {
  injectTraceHeaders,
  extractTraceContext,
  tracedFetch,
  scopedHandler,
  requestScopeName,
  HttpServerError,
} from './propagation';
export { captureConsole, releaseConsole } from './console';
export { captureHttp, releaseHttp } from './http';
export { captureGrpc, releaseGrpc, GrpcStatusError } from './grpc';
export { captureDebug, releaseDebug } from './debug';
export type { CaptureConsoleOptions } from './console';
export { BoundedBatchProcessor } from './export/bounded-batch-processor';
export type { BoundedBatchOptions, ProcessorStats } from './export/bounded-batch-processor';
export { mapPinoLine, exceptionAttributes } from './mapper';
export type { PinoMapping, MapperOptions } from './mapper';
export { severityOfPinoLevel } from './internal/severity';
