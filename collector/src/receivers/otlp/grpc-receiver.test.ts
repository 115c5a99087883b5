import http2 from 'node:http2';
import type { LogRow } from '../../model/log-row';
import { makeRow } from '../../model/log-row';
import { encodeLogsRequest } from '../../sinks/otlp/encode-request';
import { CONNECTION_WINDOW_BYTES, OtlpGrpcReceiver, STREAM_WINDOW_BYTES } from './grpc-receiver';
import { DEFAULT_RECEIVER_LIMITS } from './limits';
import { grpcExport } from '../../bench/load';

// The gRPC receiver on a real socket, seen by a plain HTTP/2 client: the flow-control
// windows it grants (wider than HTTP/2's 64 KiB, set through @grpc/grpc-js internals — this
// is the test that notices when an upgrade of it drops them) and a request of several
// windows' worth of default size, sent on one connection with others (framed by the
// collector bench's own gRPC client).
let receiver: OtlpGrpcReceiver;
const stored: LogRow[] = [];

beforeAll(async () => {
  receiver = new OtlpGrpcReceiver(
    { host: '127.0.0.1', port: 0, limits: DEFAULT_RECEIVER_LIMITS },
    {
      async consume(rows: LogRow[]) {
        stored.push(...rows);
        return undefined;
      },
    },
  );
  await receiver.start();
});
afterAll(() => receiver.shutdown());

describe('OTLP/gRPC receiver, HTTP/2 flow control', () => {
  it('grants each stream and each connection a wide window, and takes requests many times 64 KiB', async () => {
    const session = http2.connect(`http://127.0.0.1:${receiver.port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      });
      expect(session.remoteSettings.initialWindowSize).toBe(STREAM_WINDOW_BYTES);
      const rows = Array.from({ length: 2000 }, (_, i) =>
        makeRow({ service: 'windows', body: `a record of a large request, number ${i} ${'x'.repeat(200)}` }),
      );
      const message = encodeLogsRequest(rows);
      expect(message.length).toBeGreaterThan(8 * 65_536);
      // Three at once on the one connection, each answered grpc-status 0.
      await Promise.all([1, 2, 3].map(() => grpcExport(session, message)));
      expect(stored).toHaveLength(3 * rows.length);
      // The connection window: what this client may still send on the connection, which
      // the server's WINDOW_UPDATEs have kept above the protocol's 64 KiB.
      expect(session.state.remoteWindowSize).toBeGreaterThan(CONNECTION_WINDOW_BYTES / 2);
    } finally {
      session.close();
    }
  });
});
