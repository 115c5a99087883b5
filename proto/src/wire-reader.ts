/**
 * Protocol-buffers wire format reader over one Buffer, without intermediate
 * objects: the decoders pull exactly the fields they need and skip the rest.
 * Errors carry a field path that each decoding level prepends to, so the client
 * learns e.g. `resource_logs[0].scope_logs[2].log_records[7].trace_id: ...`.
 */
export class DecodeError extends Error {
  readonly path: string[] = [];
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DecodeError';
  }

  at(segment: string): DecodeError {
    this.path.unshift(segment);
    this.message = `${this.path.join('.')}: ${this.reason}`;
    return this;
  }
}

import { WIRE_FIXED32, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './wire-writer';
import type { StringTable } from './string-table';

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'group start', 'group end', 'fixed32'];

export class WireReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  /** Reads a varint that must fit in 2^53 (tags, lengths, enums, uint32). */
  varint(): number {
    const buf = this.buf;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new DecodeError('truncated varint');
      const b = buf[this.pos++];
      result += (b & 0x7f) * multiplier;
      if (b < 0x80) return result;
      multiplier *= 128;
    }
    throw new DecodeError('varint longer than 10 bytes');
  }

  /** Reads an int64 varint as decimal text, exact over the whole 64-bit range. */
  int64Text(): string {
    const start = this.pos;
    const value = this.varint();
    // Up to 7 bytes (49 bits) the number is exact; longer ones (large or negative) go through BigInt.
    if (this.pos - start <= 7) return String(value);
    let big = 0n;
    for (let i = this.pos - 1; i >= start; i--) big = (big << 7n) | BigInt(this.buf[i] & 0x7f);
    return BigInt.asIntN(64, big).toString();
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) throw new DecodeError('truncated fixed64');
    const value = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return value;
  }

  fixed32(): number {
    if (this.pos + 4 > this.end) throw new DecodeError('truncated fixed32');
    const value = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return value;
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new DecodeError('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** Reads a length prefix and returns the end offset of the field's bytes. */
  lengthDelimitedEnd(): number {
    const length = this.varint();
    const end = this.pos + length;
    if (end > this.end) throw new DecodeError(`length ${length} runs past the end of its message`);
    return end;
  }

  /** A string field; invalid UTF-8 sequences become U+FFFD (the record is kept, the damage visible). */
  string(): string {
    return this.lengthDelimited('utf8');
  }

  /** A string field that is likely to repeat (keys, names, short values): see StringTable. */
  repeatedString(table: StringTable): string {
    const end = this.lengthDelimitedEnd();
    const value = table.decode(this.buf, this.pos, end);
    this.pos = end;
    return value;
  }

  /** A bytes field as lower-case hex (trace and span ids). */
  hex(): string {
    return this.lengthDelimited('hex');
  }

  /** A bytes field as base64 (AnyValue bytes_value). */
  base64(): string {
    return this.lengthDelimited('base64');
  }

  private lengthDelimited(encoding: BufferEncoding): string {
    const end = this.lengthDelimitedEnd();
    const value = this.buf.toString(encoding, this.pos, end);
    this.pos = end;
    return value;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.pos = this.lengthDelimitedEnd();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        throw new DecodeError(
          `unsupported wire type ${wireType} (${WIRE_TYPE_NAMES[wireType] ?? 'invalid'})`,
        );
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) throw new DecodeError('truncated field');
    this.pos += n;
  }
}

/** Throws when a known field arrives with another wire type than its declaration's. */
export function expectWireType(field: string, actual: number, expected: number): void {
  if (actual !== expected) {
    throw new DecodeError(
      `wire type ${actual} (${WIRE_TYPE_NAMES[actual] ?? 'invalid'}) where ${WIRE_TYPE_NAMES[expected]} was expected`,
    ).at(field);
  }
}
