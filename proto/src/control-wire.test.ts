import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from './services';
import {
  decodeLevelReport,
  decodeLevelRules,
  decodeSubscribeRequest,
  encodeLevelReport,
  encodeLevelRules,
  encodeSubscribeRequest,
  levelControlServiceDefinition,
} from './control-wire';
import type { LevelRule } from './level-rules';

// The project's own control.proto, read by protobufjs (an independent implementation): the
// hand-written messages must match it both ways.
const root = protobuf.loadSync(path.join(PROTO_DIR, 'distlog/v1/control.proto'));
const type = (name: string) => root.lookupType(`distlog.v1.${name}`);
const byProtobufjs = (name: string, value: object) =>
  Buffer.from(type(name).encode(type(name).fromObject(value)).finish());
const readByProtobufjs = (name: string, bytes: Buffer) =>
  type(name).toObject(type(name).decode(bytes), { longs: String });

const expires = Date.parse('2026-12-02T10:00:00.000Z');
const rules: LevelRule[] = [
  {
    id: 'r1',
    service: 'orders',
    logger: 'db.*',
    level: 'debug',
    expiresAt: '2026-12-02T10:00:00.000Z',
    setBy: 'alice',
    setAt: '2026-12-02T09:59:00.000Z',
    onError: true,
  },
  { id: 'r2', service: '*', logger: '*', level: 'warn', setBy: 'bob', setAt: '' },
];

/** The same rules as protobufjs's objects (64-bit numbers as decimal text, no defaults). */
const rulesAsProtobufjsSees = {
  rules: [
    {
      id: 'r1',
      service: 'orders',
      logger: 'db.*',
      level: 'debug',
      expiresAtUnixNano: String(BigInt(expires) * 1_000_000n),
      setBy: 'alice',
      setAtUnixNano: String(BigInt(expires - 60_000) * 1_000_000n),
      onError: true,
    },
    { id: 'r2', service: '*', logger: '*', level: 'warn', setBy: 'bob' },
  ],
};

describe('control-wire (distlog.v1.LevelControl messages)', () => {
  it('writes SubscribeRequest and LevelReport as control.proto defines them', () => {
    expect(
      readByProtobufjs(
        'SubscribeRequest',
        encodeSubscribeRequest({ service: 'orders', instance: 'i-1', loggers: ['db', 'app'] }),
      ),
    ).toEqual({ service: 'orders', instance: 'i-1', loggers: ['db', 'app'] });
    const report = encodeLevelReport({
      service: 'orders',
      instance: 'i-1',
      loggers: {
        db: { level: 'debug', configured: 'info', rule: 'r1', onError: true },
        app: { level: 'info', configured: 'info' },
      },
    });
    expect(readByProtobufjs('LevelReport', report)).toEqual({
      service: 'orders',
      instance: 'i-1',
      loggers: [
        { name: 'db', level: 'debug', configured: 'info', rule: 'r1', onError: true },
        { name: 'app', level: 'info', configured: 'info' },
      ],
    });
  });

  it('reads SubscribeRequest and LevelReport written by protobufjs', () => {
    expect(
      decodeSubscribeRequest(
        byProtobufjs('SubscribeRequest', { service: 'orders', instance: 'i-1', loggers: ['db'] }),
      ),
    ).toEqual({ service: 'orders', instance: 'i-1', loggers: ['db'] });
    expect(decodeSubscribeRequest(Buffer.alloc(0))).toEqual({ service: '', instance: '', loggers: [] });
    // Left-out fields are protobuf's defaults, as a protobuf library writes them (clients pass partial objects).
    expect(decodeSubscribeRequest(encodeSubscribeRequest({ service: 'orders' }))).toEqual({
      service: 'orders',
      instance: '',
      loggers: [],
    });
    expect(decodeLevelReport(encodeLevelReport({ instance: 'i-1' }))).toEqual({
      service: '',
      instance: 'i-1',
      loggers: {},
    });
    expect(
      decodeLevelReport(
        byProtobufjs('LevelReport', {
          service: 'orders',
          instance: 'i-1',
          loggers: [
            { name: 'db', level: 'debug', configured: 'info', rule: 'r1', onError: true },
            { name: 'app', level: 'info', configured: 'warn' },
            { name: '__proto__', level: 'info', configured: 'info' },
          ],
        }),
      ),
    ).toEqual({
      service: 'orders',
      instance: 'i-1',
      loggers: Object.fromEntries([
        ['db', { level: 'debug', configured: 'info', rule: 'r1', onError: true }],
        ['app', { level: 'info', configured: 'warn' }],
        ['__proto__', { level: 'info', configured: 'info' }],
      ]),
    });
  });

  it('writes LevelRules with times as fixed64 nanoseconds, and reads them back as ISO dates', () => {
    expect(readByProtobufjs('LevelRules', encodeLevelRules(rules))).toEqual(rulesAsProtobufjsSees);
    expect(decodeLevelRules(encodeLevelRules(rules))).toEqual(rules);
    expect(decodeLevelRules(encodeLevelRules([]))).toEqual([]);
  });

  it('reads LevelRules written by protobufjs, skipping fields it does not know', () => {
    const bytes = byProtobufjs('LevelRules', rulesAsProtobufjsSees);
    // A field a later control.proto might add (number 15, a string) inside the first rule and at the top.
    const unknown = Buffer.from([0x7a, 0x02, 0x68, 0x69]);
    const withUnknown = Buffer.concat([
      Buffer.from([bytes[0], bytes[1] + unknown.length]),
      bytes.subarray(2, 2 + bytes[1]),
      unknown,
      bytes.subarray(2 + bytes[1]),
      unknown,
    ]);
    expect(bytes[1]).toBeLessThan(128 - unknown.length); // one-byte length, so the splice above holds
    expect(decodeLevelRules(bytes)).toEqual(rules);
    expect(decodeLevelRules(withUnknown)).toEqual(rules);
  });

  it('names what is damaged', () => {
    expect(() => decodeLevelRules(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/runs past the end/);
    // The second rule's id claims 9 bytes of a rule that holds 3.
    const good = encodeLevelRules(rules.slice(0, 1));
    expect(() =>
      decodeLevelRules(Buffer.concat([good, Buffer.from([0x0a, 0x03, 0x0a, 0x09, 0x61])])),
    ).toThrow(/rules\[1\]/);
    expect(() => decodeLevelReport(Buffer.from([0x1a, 0x02, 0x0b, 0x00]))).toThrow(
      /loggers\[0\].*wire type 3/,
    );
    expect(() => decodeSubscribeRequest(Buffer.from([0x0a]))).toThrow(/truncated varint/);
  });

  it('defines the service as grpc-js takes it, its codecs those above', () => {
    const { Subscribe, Report } = levelControlServiceDefinition();
    expect([Subscribe.path, Subscribe.requestStream, Subscribe.responseStream]).toEqual([
      '/distlog.v1.LevelControl/Subscribe',
      false,
      true,
    ]);
    expect([Report.path, Report.requestStream, Report.responseStream]).toEqual([
      '/distlog.v1.LevelControl/Report',
      false,
      false,
    ]);
    expect(Subscribe.responseDeserialize(Subscribe.responseSerialize(rules))).toEqual(rules);
    expect(Report.responseSerialize({})).toHaveLength(0);
    const request = { service: 's', instance: 'i', loggers: { l: { level: 'info', configured: 'info' } } };
    expect(Report.requestDeserialize(Report.requestSerialize(request))).toEqual(request);
  });
});
