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
  maxRequestBytes: 4 * 1024 * 1024,
});
const rows = (n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => makeRow({ body: `${tag} ${i}`, attrs: { n: String(i) } }));
const options = { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS };
/** A destination that takes less than the sink's default 4 MiB (as another collector or a vendor may). */
const smallOptions = {
  ...options,
  limits: { ...DEFAULT_RECEIVER_LIMITS, maxRequestBytes: 256 * 1024, maxDecompressedBytes: 256 * 1024 },
};

type Receiver = OtlpHttpReceiver | OtlpGrpcReceiver;

/** A destination (a real receiver) made before each test of the block and shut down after it. */
function destinationForEachTest(receiverFor: (d: Destination) => Receiver): {
  destination: Destination;
  receiver: Receiver;
  metrics: CollectorMetrics;
} {
  const each = {} as { destination: Destination; receiver: Receiver; metrics: CollectorMetrics };
  beforeEach(async () => {
    each.destination = new Destination();
    each.receiver = receiverFor(each.destination);
    await each.receiver.start();
    each.metrics = new CollectorMetrics();
  });
  afterEach(() => each.receiver.shutdown());
  return each;
}

describe.each([
  ['http/protobuf', (d: Destination) => new OtlpHttpReceiver(options, d.consumer)],
  ['grpc', (d: Destination) => new OtlpGrpcReceiver(options, d.consumer)],
] as const)('ForwardSink over %s', (protocol, receiverFor) => {
  const each = destinationForEachTest(receiverFor);

  it('delivers records whole, in order, and counts them', async () => {
    const sink = new ForwardSink(config('audit', protocol, each.receiver.port), each.metrics);
    await sink.start();
    sink.consume(rows(3, 'a'));
    sink.consume(rows(2, 'b'));
    await sink.shutdown();
    expect(each.destination.received.map((r) => r.body)).toEqual(['a 0', 'a 1', 'a 2', 'b 0', 'b 1']);
    expect(each.destination.received[2].attributes).toMatchObject({ keys: ['n'], values: ['2'] });
    expect(each.destination.received[0].resource.serviceName).toBe('orders');
    expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(5);
    expect(sink.queued).toBe(0);
  });

  it('keeps retrying while the destination is unavailable, and delivers once it is back', async () => {
    each.destination.behaviour = 'unavailable';
    const sink = new ForwardSink(config('audit', protocol, each.receiver.port), each.metrics);
    sink.consume(rows(4, 'later'));
    await eventually(async () => each.destination.requests >= 2, 5_000, 10);
    expect(sink.queued).toBe(4);
    each.destination.behaviour = 'take';
    await eventually(async () => each.destination.received.length === 4, 5_000, 10);
    await sink.shutdown();
    expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(4);
  });

  it('says once when a full queue starts dropping, and how many went once the destination is back', async () => {
    const { lines: said, restore } = captureStderr();
    try {
      each.destination.behaviour = 'unavailable';
      const sink = new ForwardSink(
        { ...config('audit', protocol, each.receiver.port), maxQueueRecords: 3 },
        each.metrics,
      );
      for (let i = 0; i < 4; i++) sink.consume(rows(2, `burst${i}`));
      each.destination.behaviour = 'take';
      await eventually(async () => each.destination.received.length === 3, 5_000, 10);
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
    each.destination.behaviour = 'invalid';
    const sink = new ForwardSink(config('audit', protocol, each.receiver.port), each.metrics);
    sink.consume(rows(3, 'bad'));
    await eventually(async () => sink.queued === 0, 5_000, 10);
    expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'refused' })).toBe(3);
    each.destination.behaviour = 'take';
    sink.consume(rows(1, 'good'));
    await sink.shutdown();
    expect(each.destination.received.map((r) => r.body)).toEqual(['good 0']);
  });
});

describe.each([
  ['http/protobuf', (d: Destination) => new OtlpHttpReceiver(smallOptions, d.consumer)],
  ['grpc', (d: Destination) => new OtlpGrpcReceiver(smallOptions, d.consumer)],
] as const)(
  'ForwardSink with large records, to a destination that takes 256 KiB at most (%s)',
  (protocol, receiverFor) => {
    const each = destinationForEachTest(receiverFor);
    const large = (n: number, tag: string, bytes: number) =>
      Array.from({ length: n }, (_, i) => makeRow({ body: `${tag} ${i} ${'x'.repeat(bytes)}` }));

    it('sends requests of at most maxRequestBytes: 2000 records of 2 KB all arrive, in order', async () => {
      const sink = new ForwardSink(
        {
          ...config('audit', protocol, each.receiver.port),
          maxQueueRecords: 10_000,
          maxRequestBytes: 200 * 1024,
        },
        each.metrics,
      );
      sink.consume(large(2000, 'big', 2000));
      await sink.shutdown(30_000);
      expect(each.destination.received.map((r) => r.body.split(' ')[1])).toEqual(
        Array.from({ length: 2000 }, (_, i) => String(i)),
      );
      expect(each.destination.requests).toBeGreaterThanOrEqual(20); // ~4 MB in requests under 200 KiB
      expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(2000);
    });

    it('a request refused as too large is sent again in smaller ones, said once; nothing lost', async () => {
      const { lines: said, restore } = captureStderr();
      try {
        // The default 4 MiB is over this destination's 256 KiB: the first request is refused.
        const sink = new ForwardSink(
          { ...config('audit', protocol, each.receiver.port), maxQueueRecords: 10_000 },
          each.metrics,
        );
        sink.consume(large(600, 'big', 2000));
        await sink.shutdown(30_000);
        expect(each.destination.received).toHaveLength(600);
        expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'sent' })).toBe(600);
        const lines = said.map((l) => JSON.parse(l) as { msg: string });
        expect(lines.filter((l) => l.msg.includes('refused a request as too large'))).toHaveLength(1);
      } finally {
        restore();
      }
    });

    it('a record alone over the destination’s limit is dropped, said and counted; the others arrive', async () => {
      const { lines: said, restore } = captureStderr();
      try {
        const sink = new ForwardSink(config('audit', protocol, each.receiver.port), each.metrics);
        sink.consume([
          ...large(5, 'before', 100),
          ...large(1, 'huge', 300 * 1024),
          ...large(5, 'after', 100),
        ]);
        await sink.shutdown(30_000);
        expect(each.destination.received.map((r) => r.body.split(' ').slice(0, 2).join(' '))).toEqual([
          ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
          ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
        ]);
        expect(each.metrics.forwarded.get({ destination: 'audit', outcome: 'refused' })).toBe(1);
        const lines = said.map((l) => JSON.parse(l) as { msg: string });
        expect(
          lines.filter((l) => l.msg.startsWith('a record is larger than the destination takes')),
        ).toHaveLength(1);
      } finally {
        restore();
      }
    });
  },
);

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
