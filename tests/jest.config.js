module.exports = require('../jest.preset.js')(__dirname, { clickhouse: true, endToEnd: true });
