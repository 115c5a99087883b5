export { init, shutdown, getDistlog } from './init';
export type { Distlog } from './init';
export type { DistlogOptions, OtlpProtocol } from './config';
export { distlogDestination } from './pino/destination';
export type { DestinationOptions } from './pino/destination';
export { mapPinoLine, exceptionAttributes } from './mapper';
export type { PinoMapping, MapperOptions } from './mapper';
export { severityOfPinoLevel } from './internal/severity';
