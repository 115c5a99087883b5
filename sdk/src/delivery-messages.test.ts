import { tidyReason, wrongPortHint } from './init';

describe('what a delivery failure says', () => {
  it('leaves out grpc-js’s empty resolution note and its timestamp', () => {
    expect(
      tidyReason(
        '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9 (2026-12-07T16:56:25.787Z). Resolution note: ',
      ),
    ).toBe('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9');
    expect(tidyReason('Payload Too Large')).toBe('Payload Too Large');
  });

  it('names the other transport’s port only for the answers that mean it', () => {
    expect(wrongPortHint('grpc', 'Last error: Protocol error')).toMatch(/OTLP\/HTTP port \(4318\)/);
    expect(wrongPortHint('http/protobuf', 'Parse Error: Expected HTTP/, RTSP/ or ICE/')).toMatch(
      /OTLP\/gRPC port \(4317\)/,
    );
    expect(wrongPortHint('grpc', 'connect ECONNREFUSED')).toBe('');
    expect(wrongPortHint('http/protobuf', 'Protocol error')).toBe('');
  });
});
