import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LevelStore } from './level-store';
import { LevelRule } from './level-rules';
import { PROTO_DIR } from '../receivers/otlp/grpc-receiver';

/** distlog.v1.LevelControl (proto/distlog/v1/control.proto) on the collector's gRPC port. */
export function levelControlService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(path.join('distlog/v1/control.proto'), {
    includeDirs: [PROTO_DIR],
    longs: String,
    defaults: true,
  });
  return definition['distlog.v1.LevelControl'] as grpc.ServiceDefinition;
}

function toMessage(r: LevelRule): object {
  const nanos = (iso?: string) => (iso ? String(BigInt(Date.parse(iso)) * 1_000_000n) : '0');
  return {
    id: r.id,
    service: r.service,
    logger: r.logger,
    level: r.level,
    // proto-loader's objects use the camelCase names of the fields.
    expiresAtUnixNano: nanos(r.expiresAt),
    setBy: r.setBy,
    setAtUnixNano: nanos(r.setAt),
  };
}

export function levelControlHandlers(store: LevelStore): grpc.UntypedServiceImplementation {
  return {
    Subscribe: (
      call: grpc.ServerWritableStream<{ service: string; instance: string; loggers: string[] }, object>,
    ) => {
      const { service, instance } = call.request;
      if (!service) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'service: required' });
        return;
      }
      const unsubscribe = store.subscribe(
        service,
        instance,
        (rules) => call.write({ rules: rules.map(toMessage) }),
        () => call.end(),
      );
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
    },
  };
}
