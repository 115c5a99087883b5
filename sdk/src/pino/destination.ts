import { diag } from '@opentelemetry/api';
import type { EmitterOptions } from './emit';
import type { PinoLoggerConfig } from '../mapper';
import { createPinoEmitter } from './emit';
import { DISTLOG_DESTINATION, markDistlogPinoActive } from '../internal/pino-integration';
import { parsePinoLine } from './parse-line';
import type { PinoMetadata } from './call-line';
import { lineOfCall } from './call-line';

export interface DestinationOptions extends EmitterOptions {
  /** @internal false: parse every line, never build it from the call (call-line.ts); for the bench's comparison. */
  fromCall?: boolean;
}

/** pino's mark of a stream that wants each call's metadata (`Symbol.for('pino.metadata')`, pino ≥ 7). */
const PINO_METADATA = Symbol.for('pino.metadata');

/**
 * An in-process pino destination: `pino(options, distlogDestination())`. pino calls
 * write() synchronously inside the log call, so the active OpenTelemetry context
 * (span, scope) is the caller's and is attached here, with no worker thread.
 */
export interface DistlogDestination extends PinoMetadata {
  write(line: string): boolean;
  /** pino tells a stream its logger's levels, message key and error key (`PINO_CONFIG`) through this. */
  emit(event: string, message?: unknown): boolean;
  readonly [DISTLOG_DESTINATION]: true;
  readonly [PINO_METADATA]: true;
}

/** The call's line without parsing it, or undefined; a call's object whose getters throw is parsed instead. */
function builtLine(stream: PinoMetadata): Record<string, unknown> | undefined {
  try {
    return lineOfCall(stream);
  } catch {
    return undefined;
  }
}

export function distlogDestination(options: DestinationOptions = {}): DistlogDestination {
  markDistlogPinoActive();
  // Read at each line: what pino says of its logger fills in what the options leave open.
  const mapping: DestinationOptions = { ...options };
  const emit = createPinoEmitter(mapping);
  const fromCall = options.fromCall !== false;
  return {
    [DISTLOG_DESTINATION]: true,
    // pino's metadata API: before each write pino sets `lastLevel` (and the call's object,
    // message, time, logger) on a stream marked so. The level number is what the record's
    // severity comes from, whatever a `formatters.level` made of the line's `level`; the
    // rest spares parsing the line back where that gives the same (call-line.ts).
    [PINO_METADATA]: true,
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
        // pino sets these before each of its writes: read once, so a write it did not
        // announce (someone else's) is not taken for its last call.
        const level = this.lastLevel;
        const built = fromCall ? builtLine(this) : undefined;
        this.lastLevel = undefined;
        const parsed = built ?? (parsePinoLine(line) as Record<string, unknown>);
        emit(parsed, typeof level === 'number' ? level : undefined);
      } catch (err) {
        diag.warn('distlog: pino line could not be sent, skipped', err);
      }
      return true;
    },
  };
}
