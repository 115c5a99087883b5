import type { LogRow } from '../../model/log-row';
import { makeRow } from '../../model/log-row';
import { CollectorMetrics } from '../../telemetry/metrics';
import { InvalidRequestError, UnavailableError } from '../../errors';
import { OtlpGrpcReceiver } from '../../receivers/otlp/grpc-receiver';
import { OtlpHttpReceiver } from '../../receivers/otlp/http-receiver';
import { DEFAULT_RECEIVER_LIMITS } from '../../receivers/otlp/limits';
import { eventually } from '../../testing/test-database';
import type { DestinationConfig } from '../../config/collector-config';
import { ForwardSink } from './forward-sink';
import { captureStderr } from '../../testing/stderr';

// Forwarding to real OTLP endpoints: this project's own receivers on loopback ports, whose
// consumer keeps what arrives — or refuses it the way a destination does when it is down
// (retryable) or finds the records bad (permanent).
type Behaviour = 'take' | 'unavailable' | 'invalid';

class Destination {
  received: LogRow[] = [];
  behaviour: Behaviour = 'take';
  requests = 0;
  readonly consumer = {
    consume: async (rows: LogRow[]) => {
      this.requests++;
      if (this.behaviour === 'unavailable') throw new UnavailableError('destination is down');
      if (this.behaviour === 'invalid') throw new InvalidRequestError('destination refuses these');
      this.received.push(...rows);
      return undefined;
    },
  };
}

const config = (name: string, protocol: DestinationConfig['protocol'], port: number): DestinationConfig => ({
  name,
  endpoint: `http://127.0.0.1:${port}`,
  protocol,
  headers: { 'x-forwarded-by': 'distlog' },
  maxQueueRecords: 1000,
});
const rows = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => makeRow({ body: `${tag} ${i}`, attrs: { n: String(i) } }));
const options = { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS };

describe.each([
  ['http/protobuf', (d: Destination) => new OtlpHttpReceiver(options, d.consumer)],
  ['grpc', (d: Destination) => new OtlpGrpcReceiver(options, d.consumer)],
] as const)('ForwardSink over %s', (protocol, receiverFor) => {
  let destination: Destination;
  let receiver: OtlpHttpReceiver | OtlpGrpcReceiver;
  let metrics: CollectorMetrics;
  beforeEach(async () => {
    destination = new Destination();
    receiver = receiverFor(destination);
    await receiver.start();
    metrics = new CollectorMetrics();
  });
  afterEach(() => receiver.shutdown());

  it('delivers records whole, in order, and counts them', async () => {
    const sink = new ForwardSink(config('audit', protocol, receiver.port), metrics);
    await sink.start();
    sink.consume(rows(3, 'a'));
    sink.consume(rows(2, 'b'));
    await sink.shutdown();
    expect(destination.received.map((r) => r.body)).toEqual(['a 0', 'a 1', 'a 2', 'b 0', 'b 1']);
    expect(destination.received[2].attributes).toMatchObject({ keys: ['n'], values: ['2'] });
    expect(destination.received[0].resource.serviceName).toBe('orders');
    expect(metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(5);
    expect(sink.queued).toBe(0);
  });

  it('keeps retrying while the destination is unavailable, and delivers once it is back', async () => {
    destination.behaviour = 'unavailable';
    const sink = new ForwardSink(config('audit', protocol, receiver.port), metrics);
    sink.consume(rows(4, 'later'));
    await eventually(async () => destination.requests >= 2, 5_000, 10);
    expect(sink.queued).toBe(4);
    destination.behaviour = 'take';
    await eventually(async () => destination.received.length === 4, 5_000, 10);
    await sink.shutdown();
    expect(metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(4);
  });

  it('says once when a full queue starts dropping, and how many went once the destination is back', async () => {
    const { lines: said, restore } = captureStderr();
    try {
      destination.behaviour = 'unavailable';
      const sink = new ForwardSink(
        { ...config('audit', protocol, receiver.port), maxQueueRecords: 3 },
        metrics,
      );
      for (let i = 0; i < 4; i++) sink.consume(rows(2, `burst${i}`));
      destination.behaviour = 'take';
      await eventually(async () => destination.received.length === 3, 5_000, 10);
      await sink.shutdown();
      const lines = said.map((l) => JSON.parse(l) as { msg: string; dropped?: number });
      expect(lines.filter((l) => l.msg.startsWith('forward queue full'))).toHaveLength(1);
      expect(lines.filter((l) => l.msg.startsWith('forwarding again'))).toEqual([
        expect.objectContaining({ destination: 'audit', dropped: 5 }),
      ]);
    } finally {
      restore();
    }
  });

  it('drops records the destination refuses as invalid, counted, and goes on with the next', async () => {
    destination.behaviour = 'invalid';
    const sink = new ForwardSink(config('audit', protocol, receiver.port), metrics);
    sink.consume(rows(3, 'bad'));
    await eventually(async () => sink.queued === 0, 5_000, 10);
    expect(metrics.forwarded.get({ destination: 'audit', outcome: 'refused' })).toBe(3);
    destination.behaviour = 'take';
    sink.consume(rows(1, 'good'));
    await sink.shutdown();
    expect(destination.received.map((r) => r.body)).toEqual(['good 0']);
  });
});

describe('ForwardSink queue', () => {
  it('drops the oldest records past maxQueueRecords, counted, and shutdown gives up after its timeout', async () => {
    const metrics = new CollectorMetrics();
    // Nothing listens on port 1: every send fails and the records stay queued.
    const sink = new ForwardSink({ ...config('gone', 'http/protobuf', 1), maxQueueRecords: 5 }, metrics);
    sink.consume(rows(4, 'x'));
    sink.consume(rows(3, 'y'));
    expect(sink.queued).toBe(5);
    expect(metrics.dropped.get({ reason: 'forward_queue_full', destination: 'gone' })).toBe(2);
    const started = Date.now();
    await sink.shutdown(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    sink.consume(rows(1, 'after'));
    expect(sink.queued).toBe(5); // a stopped sink takes nothing more
    await sink.shutdown(); // idempotent
  });
});
