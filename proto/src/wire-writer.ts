/**
 * The one binary writer of Distlog: a growable buffer with the primitives of the protobuf
 * wire format — which ClickHouse's RowBinary shares (LEB128 lengths, little-endian
 * integers, length-prefixed UTF-8) — written for the hot paths that use it: the SDK's
 * OTLP encoder (in the app's thread), the collector's RowBinary encoder and its OTLP
 * forward encoder.
 *
 *  - Short ASCII strings are copied in JavaScript (a call into Buffer.write costs more).
 *  - A nested message gets one byte for its length (`begin`/`end`) and is moved up in the
 *    rare case that it needs more: no size-estimating first pass.
 */
export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

const TWO_32 = 2 ** 32;
const HEX_DIGITS = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

export class WireWriter {
  buf: Buffer;
  pos = 0;

  /** @param initial bytes to start with, or a buffer to write into from its start (one reused: see the collector's TableWriter). */
  constructor(initial: number | Buffer = 64 * 1024) {
    this.buf = typeof initial === 'number' ? Buffer.allocUnsafe(initial) : initial;
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Makes room for `n` more bytes (capacity doubles). */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 64);
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
  }

  /** A field's key: (field number << 3) | wire type. */
  tag(field: number, wireType: number): void {
    this.uint32((field << 3) | wireType);
  }

  /** A varint of 0 ≤ n < 2^32 (bit operations: the common, fast case). */
  uint32(n: number): void {
    this.reserve(5);
    while (n > 127) {
      this.buf[this.pos++] = (n & 127) | 128;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  /** A varint of 0 ≤ n < 2^53 (arithmetic: values may exceed 32 bits). */
  varint(n: number): void {
    if (n < TWO_32) return this.uint32(n);
    this.reserve(10);
    let v = n;
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** An int64 varint (negative numbers take ten bytes, two's complement). */
  int64(n: number): void {
    if (n >= 0 && n < TWO_32) return this.uint32(n);
    let v = BigInt.asUintN(64, BigInt(n));
    this.reserve(10);
    while (v > 127n) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  /** Four bytes, little-endian (protobuf fixed32; RowBinary UInt32). */
  fixed32(n: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(n >>> 0, this.pos);
    this.pos += 4;
  }

  /** Eight bytes, little-endian (protobuf fixed64; RowBinary UInt64). */
  fixed64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(v, this.pos);
    this.pos += 8;
  }

  double(x: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(x, this.pos);
    this.pos += 8;
  }

  /** Length-prefixed UTF-8 (protobuf string content; RowBinary String). */
  string(s: string): void {
    const len = s.length;
    if (len < 128) {
      this.reserve(1 + len * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if (c > 127) break;
        buf[start + i] = c;
      }
      if (i === len) {
        buf[this.pos] = len;
        this.pos = start + len;
        return;
      }
      if (len < 43) {
        // Not ASCII, still at most 126 bytes: the rest through Buffer.write.
        const n = i + buf.write(s.slice(i), start + i, 'utf8');
        buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.uint32(n);
    this.reserve(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  /** A string field, left out when empty (proto3 writes no default values). */
  stringField(field: number, value: string | undefined): void {
    if (!value) return;
    this.tag(field, WIRE_LEN);
    this.string(value);
  }

  /** Length-prefixed bytes (a `bytes` field's content). */
  lengthPrefixed(bytes: Uint8Array): void {
    this.uint32(bytes.length);
    this.raw(bytes);
  }

  /** `src[start, end)` as they are (runs of a few hundred bytes copied in JavaScript: a call into Buffer#copy costs more). */
  copyFrom(src: Buffer, start: number, end: number): void {
    const n = end - start;
    this.reserve(n);
    const buf = this.buf;
    if (n < 256) {
      let p = this.pos;
      for (let i = start; i < end; i++) buf[p++] = src[i];
    } else {
      src.copy(buf, this.pos, start, end);
    }
    this.pos += n;
  }

  /** `src[start, end)` as a length-prefixed string (bytes known to be UTF-8: copied, not decoded). */
  stringBytes(src: Buffer, start: number, end: number): void {
    this.uint32(end - start);
    this.copyFrom(src, start, end);
  }

  /** `src[start, start + n)` as a length-prefixed string of 2n lower-case hex digits (trace and span ids). */
  hexString(src: Uint8Array, start: number, n: number): void {
    this.uint32(2 * n);
    this.reserve(2 * n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = start; i < start + n; i++) {
      const b = src[i];
      buf[p++] = HEX_DIGITS[b >> 4];
      buf[p++] = HEX_DIGITS[b & 15];
    }
    this.pos = p;
  }

  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Starts a length-delimited message: one byte kept for its length (see end()). */
  begin(): number {
    this.reserve(1);
    return this.pos++;
  }

  /** Ends the message begin() started, writing its length (moving it up if that needs more than a byte). */
  end(start: number): void {
    const len = this.pos - start - 1;
    if (len < 128) {
      this.buf[start] = len;
      return;
    }
    let size = 2;
    while (len >= 2 ** (7 * size)) size++;
    this.reserve(size - 1);
    this.buf.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let n = len;
    let p = start;
    while (n > 127) {
      this.buf[p++] = (n & 127) | 128;
      n >>>= 7;
    }
    this.buf[p] = n;
  }
}
