/**
 * Strings that repeat from record to record — attribute keys, severity texts, scope names,
 * short attribute values like `GET` or `200` — decoded once. A short field's bytes are
 * hashed and compared with the bytes that last filled their slot, in JavaScript, which
 * costs less than decoding them again (a call into C++ and a new string for the garbage
 * collector every time). Longer fields, and a slot's other bytes, are decoded as usual.
 * One table per thread: it holds no more than SLOTS short strings.
 */
const SLOTS = 4096;
/** Longest field (bytes) kept in the table. */
export const MAX_TABLE_STRING_BYTES = 32;

export class StringTable {
  private readonly bytes = new Uint8Array(SLOTS * MAX_TABLE_STRING_BYTES);
  private readonly lengths = new Int32Array(SLOTS).fill(-1);
  private readonly strings: string[] = new Array<string>(SLOTS).fill('');

  /** The UTF-8 text of `buf[start, end)`; invalid sequences become U+FFFD as in Buffer#toString. */
  decode(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len === 0) return '';
    if (len > MAX_TABLE_STRING_BYTES) return buf.toString('utf8', start, end);
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const slot = (h ^ (h >>> 16)) & (SLOTS - 1);
    const base = slot * MAX_TABLE_STRING_BYTES;
    const bytes = this.bytes;
    if (this.lengths[slot] === len) {
      let i = 0;
      while (i < len && bytes[base + i] === buf[start + i]) i++;
      if (i === len) return this.strings[slot];
    }
    const s = buf.toString('utf8', start, end);
    for (let i = 0; i < len; i++) bytes[base + i] = buf[start + i];
    this.lengths[slot] = len;
    this.strings[slot] = s;
    return s;
  }
}
