import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LevelStore } from './level-store';
import { LevelRule } from './level-rules';
import { PROTO_DIR, metadataString } from '../receivers/otlp/grpc-receiver';
import { AuthError, Authenticator, authorizeService } from '../auth/authenticator';

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

export function levelControlHandlers(
  store: LevelStore,
  auth?: () => Authenticator,
): grpc.UntypedServiceImplementation {
  return {
    Subscribe: (
      call: grpc.ServerWritableStream<{ service: string; instance: string; loggers: string[] }, object>,
    ) => {
      const { service, instance } = call.request;
      if (!service) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'service: required' });
        return;
      }
      try {
        if (auth) authorizeService(auth().ingest(metadataString(call.metadata, 'authorization')), service);
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        const code = err.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED;
        call.emit('error', { code, details: err.message });
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
