import { DEFAULTS } from '../../config/defaults';

export interface ReceiverLimits {
  /** Largest request body accepted on the wire, compressed or not (bytes). */
  maxRequestBytes: number;
  /** Largest body after gzip decompression (bytes); bigger ones are refused while inflating. */
  maxDecompressedBytes: number;
  maxNestingDepth: number;
  maxAttributeValueLength: number;
}

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = { ...DEFAULTS.receivers.limits };
