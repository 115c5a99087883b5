import path from 'node:path';
import protobuf from 'protobufjs';
import { PROTO_DIR } from '@distlog/proto';
import { decodeLevelRules, encodeLevelReport, encodeSubscribeRequest } from './control-wire';

// The project's own control.proto, read by protobufjs: the SDK's hand-written messages must match it.
const root = protobuf.loadSync(path.join(PROTO_DIR, 'distlog/v1/control.proto'));
const type = (name: string) => root.lookupType(`distlog.v1.${name}`);

describe('control-wire (distlog.v1.LevelControl messages)', () => {
  it('writes SubscribeRequest and LevelReport as control.proto defines them', () => {
    expect(
      type('SubscribeRequest').toObject(
        type('SubscribeRequest').decode(encodeSubscribeRequest('orders', 'i-1', ['db'])),
      ),
    ).toEqual({
      service: 'orders',
      instance: 'i-1',
      loggers: ['db'],
    });
    const report = type('LevelReport').decode(
      encodeLevelReport('orders', 'i-1', {
        db: { level: 'debug', configured: 'info', rule: 'r1', onError: true },
        app: { level: 'info', configured: 'info' },
      }),
    );
    expect(type('LevelReport').toObject(report)).toEqual({
      service: 'orders',
      instance: 'i-1',
      loggers: [
        { name: 'db', level: 'debug', configured: 'info', rule: 'r1', onError: true },
        { name: 'app', level: 'info', configured: 'info' },
      ],
    });
  });

  it('reads LevelRules, with expiry and set time as ISO dates', () => {
    const expires = Date.parse('2026-12-02T10:00:00.000Z');
    const bytes = type('LevelRules')
      .encode({
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
      })
      .finish();
    expect(decodeLevelRules(Buffer.from(bytes))).toEqual([
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
    ]);
    expect(() => decodeLevelRules(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/runs past the end/);
  });
});
