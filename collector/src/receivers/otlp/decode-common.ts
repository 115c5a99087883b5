import type { LogRow } from '../../model/log-row';
import { DecodeError } from '@distlog/proto';
import { DEFAULTS } from '../../config/defaults';

export interface DecodeLimits {
  /** How deep arrays and kvlists may nest inside one AnyValue. */
  maxNestingDepth: number;
  /** Attribute values longer than this many characters are cut; 0 keeps them whole. */
  maxAttributeValueLength: number;
  /** Stands in for the event and observed times when a record has neither. */
  receivedAtUnixNano: bigint;
}

/**
 * A decoded request: the records taken, and those refused one by one (a record whose
 * own bytes or fields are bad is refused alone — OTLP's partial success — while
 * damage outside records refuses the whole request).
 */
export interface DecodedRequest {
  rows: LogRow[];
  rejected: number;
  /** The first refusal's reason, with its field path. */
  rejectionMessage: string;
}

export function rejectRecord(out: DecodedRequest, where: string, err: { message: string }): void {
  if (out.rejected === 0) out.rejectionMessage = `${where}.${err.message}`;
  out.rejected++;
}

export const DEFAULT_DECODE_LIMITS: Omit<DecodeLimits, 'receivedAtUnixNano'> = {
  maxNestingDepth: DEFAULTS.receivers.limits.maxNestingDepth,
  maxAttributeValueLength: DEFAULTS.receivers.limits.maxAttributeValueLength,
};

export function nowUnixNano(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * OTLP: a receiver uses observed_time_unix_nano when time_unix_nano is unset; a
 * record with neither gets the time the collector received it.
 */
export function finishRecordTimes(row: LogRow, receivedAt: bigint): void {
  if (row.observedTimeUnixNano === 0n) row.observedTimeUnixNano = receivedAt;
  if (row.timeUnixNano === 0n) row.timeUnixNano = row.observedTimeUnixNano;
}

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** Trace and span ids: empty or all-zero mean "none"; any other length is refused. */
export function validateId(field: string, hex: string, hexLength: number): string {
  if (hex.length === 0 || hex === ZERO_TRACE_ID || hex === ZERO_SPAN_ID) return '';
  if (hex.length !== hexLength) {
    throw new DecodeError(`must be ${hexLength / 2} bytes, got ${hex.length / 2}`).at(field);
  }
  return hex;
}
