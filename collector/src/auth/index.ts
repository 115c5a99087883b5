// `@distlog/collector/auth`: who may send and read — ingest keys, users and roles,
// tenants, the failed-attempt throttle, TLS settings. Shared by the collector and the
// query server; loads nothing of the collector's runtime.
export { AuthError, Authenticator, authorizeRows, newSecret, TENANT_ATTRIBUTE } from './authenticator';
export type { IngestIdentity, UserIdentity } from './authenticator';
export { FailureThrottle, throttledMessage } from './throttle';
export type { ThrottleOptions } from './throttle';
export { NO_AUTH, MIN_SECRET_LENGTH } from './auth-config';
export type { AuthConfig, Role, TlsConfig } from './auth-config';
