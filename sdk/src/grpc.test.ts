import Module from 'node:module';
import { captureGrpc, releaseGrpc } from './grpc';
import { isDistlogWrapper } from './http';

// The gRPC capture's wrapping of grpc-js itself (the calls it follows are tested end to end in
// tests/e2e/grpc-scopes.test.ts). grpc-js is loaded through Node's own loader here, as an app
// loads it (jest's module registry does not go through Module._load).
type GrpcExports = {
  Server: { prototype: Record<string, unknown> };
  Client: { prototype: Record<string, unknown> };
};
const loadGrpc = () =>
  (Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown })._load(
    require.resolve('@grpc/grpc-js'),
    null,
    false,
  ) as GrpcExports;

const wrapped = (g: GrpcExports) => [
  isDistlogWrapper(g.Server.prototype.register),
  isDistlogWrapper(g.Server.prototype.bindAsync),
  isDistlogWrapper(g.Client.prototype.checkOptionalUnaryResponseArguments),
  isDistlogWrapper(g.Client.prototype.checkMetadataAndOptions),
];

describe('gRPC capture: wrapping @grpc/grpc-js', () => {
  afterEach(() => releaseGrpc());

  it('wraps a copy loaded after it starts, undoes it on release, and wraps it again after a new start', () => {
    captureGrpc();
    const grpc = loadGrpc();
    expect(wrapped(grpc)).toEqual([true, true, true, true]);
    releaseGrpc();
    expect(wrapped(grpc)).toEqual([false, false, false, false]);
    // init() after shutdown(): the same copy (the module cache's) is wrapped again.
    captureGrpc();
    expect(wrapped(loadGrpc())).toEqual([true, true, true, true]);
  });
});
