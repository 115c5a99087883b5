import { diag } from '@opentelemetry/api';
import type { EmitterOptions } from './emit';
import type { PinoLoggerConfig } from '../mapper';
import { createPinoEmitter } from './emit';
import { DISTLOG_DESTINATION, markDistlogPinoActive } from '../internal/pino-integration';
import { parsePinoLine } from './parse-line';

export type DestinationOptions = EmitterOptions;

/**
 * An in-process pino destination: `pino(options, distlogDestination())`. pino calls
 * write() synchronously inside the log call, so the active OpenTelemetry context
 * (span, scope) is the caller's and is attached here, with no worker thread.
 */
export interface DistlogDestination {
  write(line: string): boolean;
  /** pino tells a stream its logger's levels, message key and error key (`PINO_CONFIG`) through this. */
  emit(event: string, message?: unknown): boolean;
  readonly [DISTLOG_DESTINATION]: true;
}

export function distlogDestination(options: DestinationOptions = {}): DistlogDestination {
  markDistlogPinoActive();
  // Read at each line: what pino says of its logger fills in what the options leave open.
  const mapping: DestinationOptions = { ...options };
  const emit = createPinoEmitter(mapping);
  return {
    [DISTLOG_DESTINATION]: true,
    emit(event: string, message?: unknown): boolean {
      const config = (message as { code?: string; config?: PinoLoggerConfig } | undefined)?.config;
      if (event !== 'message' || (message as { code?: string }).code !== 'PINO_CONFIG' || !config)
        return false;
      mapping.messageKey = options.messageKey ?? config.messageKey;
      mapping.errorKey = options.errorKey ?? config.errorKey;
      mapping.levelLabels = options.levelLabels ?? config.levels?.labels;
      return true;
    },
    write(line: string): boolean {
      try {
        emit(parsePinoLine(line) as Record<string, unknown>);
      } catch (err) {
        diag.warn('distlog: pino line could not be sent, skipped', err);
      }
      return true;
    },
  };
}
