import * as grpc from '@grpc/grpc-js';
import type { LevelStore } from './level-store';
import type { LevelRule } from './level-rules';
import type { LevelReport, SubscribeRequest } from '@distlog/proto';
import { levelControlServiceDefinition } from '@distlog/proto';
import { metadataString } from '../receivers/otlp/grpc-receiver';
import type { Authenticator } from '../auth/authenticator';
import { AuthError, authorizeService } from '../auth/authenticator';

/**
 * distlog.v1.LevelControl (proto/distlog/v1/control.proto) on the collector's gRPC port,
 * with @distlog/proto's codecs of its messages (the SDK's own).
 */
export function levelControlService(): grpc.ServiceDefinition {
  return levelControlServiceDefinition() as unknown as grpc.ServiceDefinition;
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
    Report: (call: grpc.ServerUnaryCall<LevelReport, object>, callback: grpc.sendUnaryData<object>) => {
      const { service, instance, loggers } = call.request;
      if (!service) return callback({ code: grpc.status.INVALID_ARGUMENT, details: 'service: required' });
      const refused = authorize(call.metadata, service);
      if (refused) return callback(refused);
      store.report(service, instance, loggers);
      callback(null, {});
    },
    Subscribe: (call: grpc.ServerWritableStream<SubscribeRequest, readonly LevelRule[]>) => {
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
        (rules) => call.write(rules),
        () => call.end(),
      );
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
    },
  };
}
