import { diag } from '@opentelemetry/api';
import type { EmitterOptions } from './emit';
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
  readonly [DISTLOG_DESTINATION]: true;
}

export function distlogDestination(options: DestinationOptions = {}): DistlogDestination {
  markDistlogPinoActive();
  const emit = createPinoEmitter(options);
  return {
    [DISTLOG_DESTINATION]: true,
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
