import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { LevelStore } from './level-store';
import type { LevelRule } from './level-rules';
import { PROTO_DIR } from '@distlog/proto';
import { metadataString } from '../receivers/otlp/grpc-receiver';
import type { Authenticator } from '../auth/authenticator';
import { AuthError, authorizeService } from '../auth/authenticator';

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
    onError: r.onError === true,
  };
}

export function levelControlHandlers(
  store: LevelStore,
  auth?: () => Authenticator,
): grpc.UntypedServiceImplementation {
  const authorize = (metadata: grpc.Metadata, service: string): grpc.ServiceError | undefined => {
    try {
      if (auth) authorizeService(auth().ingest(metadataString(metadata, 'authorization')), service);
      return undefined;
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      const code = err.status === 401 ? grpc.status.UNAUTHENTICATED : grpc.status.PERMISSION_DENIED;
      return Object.assign(new Error(err.message), {
        code,
        details: err.message,
        metadata: new grpc.Metadata(),
      });
    }
  };
  return {
    Report: (
      call: grpc.ServerUnaryCall<
        {
          service: string;
          instance: string;
          loggers: Array<{
            name: string;
            level: string;
            configured: string;
            rule: string;
            onError?: boolean;
          }>;
        },
        object
      >,
      callback: grpc.sendUnaryData<object>,
    ) => {
      const { service, instance, loggers } = call.request;
      if (!service) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'service: required' });
      const refused = authorize(call.metadata, service);
      if (refused) return callback(refused);
      store.report(
        service,
        instance,
        Object.fromEntries(
          loggers.map((l) => [
            l.name,
            {
              level: l.level,
              configured: l.configured,
              ...(l.rule ? { rule: l.rule } : {}),
              ...(l.onError ? { onError: true } : {}),
            },
          ]),
        ),
      );
      callback(null, {});
    },
    Subscribe: (
      call: grpc.ServerWritableStream<{ service: string; instance: string; loggers: string[] }, object>,
    ) => {
      const { service, instance } = call.request;
      if (!service) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'service: required' });
        return;
      }
      const refused = authorize(call.metadata, service);
      if (refused) {
        call.emit('error', refused);
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
