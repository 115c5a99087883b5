// The bench's gRPC method (http-bench.ts, http-server.ts): `/bench.Orders/Get`, JSON messages
// (no .proto: what grpc-js serializes is up to the app).
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as unknown,
};

export const BENCH_ORDERS_SERVICE = {
  get: {
    path: '/bench.Orders/Get',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
