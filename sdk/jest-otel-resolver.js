// Jest resolver for DISTLOG_OTEL_LINE=current (see jest.config.js): an @opentelemetry/*
// import is resolved as if it were made from .cache/otel-current, so the package's own
// "exports" (subpaths such as otlp-exporter-base/node-http) are honoured.
const fs = require('node:fs');
const path = require('node:path');

const base = path.resolve(__dirname, '../.cache/otel-current');
const present = new Set(fs.readdirSync(path.join(base, 'node_modules/@opentelemetry')));

module.exports = (request, options) => {
  const match = /^@opentelemetry\/([^/]+)/.exec(request);
  if (match && present.has(match[1]) && !options.basedir.startsWith(base)) {
    return options.defaultResolver(request, { ...options, basedir: base });
  }
  return options.defaultResolver(request, options);
};
