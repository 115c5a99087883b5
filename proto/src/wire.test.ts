import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  DecodeError,
  PROTO_DIR,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
  StringTable,
  WireReader,
  WireWriter,
  durationMs,
  isExpired,
  nextExpiry,
  logsServiceDefinition,
} from './index';

describe('WireWriter and WireReader', () => {
  it('read back what was written: varints of every size, fixed widths, strings, nested messages', () => {
    const w = new WireWriter(8);
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
    for (const v of values) w.varint(v);
    w.fixed64(0x0102030405060708n);
    w.fixed32(0xfffffffe);
    w.double(-1.5);
    const strings = [
      '',
      'ascii',
      'héllo wörld',
      'x'.repeat(127),
      'y'.repeat(128),
      '€'.repeat(50),
      'z'.repeat(70_000),
    ];
    for (const s of strings) w.string(s);
    // A nested message longer than 127 bytes: its length moves it up.
    w.tag(5, WIRE_LEN);
    const at = w.begin();
    w.tag(1, WIRE_LEN);
    w.string('n'.repeat(300));
    w.end(at);
    w.int64(-2);

    const r = new WireReader(Buffer.from(w.bytes()));
    for (const v of values) expect(r.varint()).toBe(v);
    expect(r.fixed64()).toBe(0x0102030405060708n);
    expect(r.fixed32()).toBe(0xfffffffe);
    expect(r.double()).toBe(-1.5);
    for (const s of strings) expect(r.string()).toBe(s);
    expect(r.varint()).toBe((5 << 3) | WIRE_LEN);
    const end = r.lengthDelimitedEnd();
    expect(end - r.pos).toBe(3 + 300);
    expect(r.varint()).toBe((1 << 3) | WIRE_LEN);
    expect(r.string()).toBe('n'.repeat(300));
    expect(r.int64Text()).toBe('-2');
    expect(r.pos).toBe(r.end);
  });

  it('the reader names what is wrong, with the field path its callers add', () => {
    const truncated = new WireReader(Buffer.from([0x80]));
    expect(() => truncated.varint()).toThrow(new DecodeError('truncated varint'));
    const w = new WireWriter();
    w.tag(1, WIRE_LEN);
    w.uint32(10); // a length running past the end
    const r = new WireReader(Buffer.from(w.bytes()));
    r.varint();
    const err = (() => {
      try {
        r.lengthDelimitedEnd();
      } catch (e) {
        return (e as DecodeError).at('body').at('log_records[3]');
      }
    })();
    expect(err?.message).toBe('log_records[3].body: length 10 runs past the end of its message');
    expect(() => new WireReader(Buffer.from([0x0b])).skip(3)).toThrow(
      /unsupported wire type 3 \(group start\)/,
    );
    expect(WIRE_VARINT + WIRE_FIXED64).toBe(1);
  });
});

describe('the service definitions', () => {
  it('LogsService/Export has the path the .proto file declares', () => {
    const text = readFileSync(
      path.join(PROTO_DIR, 'opentelemetry/proto/collector/logs/v1/logs_service.proto'),
      'utf8',
    );
    const pkg = /^package ([\w.]+);/m.exec(text)![1];
    const service = /^service (\w+)/m.exec(text)![1];
    expect(/rpc (\w+)\(/.exec(text)![1]).toBe('Export');
    expect(logsServiceDefinition().Export.path).toBe(`/${pkg}.${service}/Export`);
  });
});

describe('durationMs', () => {
  it('reads ms, s, m, h and d, and nothing else', () => {
    expect(['200ms', '5s', '15m', '2h', '3d', '1.5s', ' 2 m '].map((d) => durationMs(d))).toEqual([
      200, 5000, 900_000, 7_200_000, 259_200_000, 1500, 120_000,
    ]);
    expect(['', '5', 'soon', '5 minutes', '-1s'].map((d) => durationMs(d))).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(durationMs('200ms', ['s', 'm'])).toBeUndefined();
  });
});

describe('level rule expiry', () => {
  it('a rule with an end applies until then, one without applies always; the next end is found', () => {
    const now = Date.parse('2026-12-02T10:00:00Z');
    const rules = [
      { expiresAt: '2026-12-02T10:00:00Z' },
      { expiresAt: '2026-12-02T10:05:00Z' },
      { expiresAt: undefined },
      { expiresAt: '' },
    ];
    expect(rules.map((r) => isExpired(r, now))).toEqual([true, false, false, false]);
    expect(nextExpiry(rules)).toBe(Date.parse('2026-12-02T10:00:00Z'));
    expect(nextExpiry([{}])).toBe(Infinity);
  });
});

describe('StringTable', () => {
  it('decodes every byte string exactly as Buffer#toString does, repeated or not, colliding or not', () => {
    const table = new StringTable();
    // Many distinct short strings (so slots are shared and overwritten), invalid UTF-8,
    // multi-byte characters, the empty string and strings past the table's limit, each
    // decoded several times in a shuffled order.
    const samples: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) samples.push(Buffer.from(`user-${i}`));
    samples.push(
      Buffer.from([0xff, 0xfe, 0x41]),
      Buffer.from('é€😀'),
      Buffer.alloc(0),
      Buffer.from('x'.repeat(33)),
    );
    samples.push(Buffer.from('GET'), Buffer.from('GET '), Buffer.from('GE'));
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const wrong: string[] = [];
    for (let round = 0; round < 50_000; round++) {
      const sample = samples[next() % samples.length];
      // Embedded at an offset in a larger buffer, as fields are in a request.
      const host = Buffer.concat([Buffer.from('ab'), sample, Buffer.from('cd')]);
      const got = table.decode(host, 2, 2 + sample.length);
      if (got !== sample.toString('utf8')) wrong.push(`${JSON.stringify(got)} for ${sample.toString('hex')}`);
    }
    expect(wrong).toEqual([]);
  });

  it('is what WireReader.repeatedString reads a string field with', () => {
    const w = new WireWriter();
    w.string('INFO');
    w.string('INFO');
    w.string('héllo wörld, longer than thirty-two bytes');
    const table = new StringTable();
    const r = new WireReader(Buffer.from(w.bytes()));
    expect([r.repeatedString(table), r.repeatedString(table), r.repeatedString(table)]).toEqual([
      'INFO',
      'INFO',
      'héllo wörld, longer than thirty-two bytes',
    ]);
    expect(r.pos).toBe(r.end);
  });
});
