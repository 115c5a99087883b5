// The package exports this entry point as `./node-http` (package.json "exports"), which the
// project's module resolution (node10, CommonJS) does not read: its types, by file.
declare module '@opentelemetry/otlp-exporter-base/node-http' {
  export * from '@opentelemetry/otlp-exporter-base/build/src/index-node-http';
}
