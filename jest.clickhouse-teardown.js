const fs = require('node:fs');

module.exports = async function stopTestClickHouse() {
  const started = globalThis.__distlogClickHouse;
  if (!started) return;
  await started.server.stop();
  fs.rmSync(started.dir, { recursive: true, force: true });
};
