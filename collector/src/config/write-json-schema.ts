// `npm run schema -w @distlog/collector`: writes config/collector.schema.json from the
// schema in schema.ts (a unit test fails when the committed file differs).
import { writeFileSync } from 'node:fs';
import { JSON_SCHEMA_FILE, configJsonSchemaText } from './json-schema';

writeFileSync(JSON_SCHEMA_FILE, configJsonSchemaText());
process.stdout.write(`wrote ${JSON_SCHEMA_FILE}\n`);
