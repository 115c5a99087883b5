const fs = require('node:fs');
const path = require('node:path');

const config = require('../jest.preset.js')(__dirname);

// DISTLOG_OTEL_LINE=current: the SDK's tests against the OpenTelemetry JS line a Node 22/24
// user installs (the SDK's dependency ranges allow both lines; the repository's lock holds
// the line Node 20 can run). `scripts/node.sh otel-current` installs it in .cache/otel-current;
// jest-otel-resolver.js loads every @opentelemetry/* package found there from there.
if (process.env.DISTLOG_OTEL_LINE === 'current') {
  const modules = path.resolve(__dirname, '../.cache/otel-current/node_modules/@opentelemetry');
  if (!fs.existsSync(modules)) {
    throw new Error(`DISTLOG_OTEL_LINE=current: ${modules} is missing — run scripts/node.sh otel-current`);
  }
  config.resolver = path.join(__dirname, 'jest-otel-resolver.js');
}

module.exports = config;
