import { DEFAULT_DECODE_LIMITS } from './decode-common';

export interface ReceiverLimits {
  /** Largest request body accepted on the wire, compressed or not (bytes). */
  maxRequestBytes: number;
  /** Largest body after gzip decompression (bytes); bigger ones are refused while inflating. */
  maxDecompressedBytes: number;
  maxNestingDepth: number;
  maxAttributeValueLength: number;
}

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = {
  maxRequestBytes: 16 * 1024 * 1024,
  maxDecompressedBytes: 64 * 1024 * 1024,
  ...DEFAULT_DECODE_LIMITS,
};
