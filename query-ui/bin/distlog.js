#!/usr/bin/env node
'use strict';
// The `distlog` command. This file is committed (the compiled CLI is not) so that npm
// links `node_modules/.bin/distlog` at install time, before `npm run build` has made
// dist/: a bin that does not exist yet at install time is silently never linked.
const path = require('node:path');
const fs = require('node:fs');

const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write(
    `distlog: the command is not built yet (${path.relative(process.cwd(), main) || main} is missing).\n` +
      'Run `npm run setup` (or `npm run build`) in the Distlog checkout, then try again.\n',
  );
  process.exit(1);
}
require(main);
