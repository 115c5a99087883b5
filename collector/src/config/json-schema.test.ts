import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse as parseYaml } from 'yaml';
import { JSON_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from './json-schema';
import { DEFAULT_CONFIG_FILE } from './collector-config';

// The published JSON Schema (what editors use to complete and check collector.yaml), checked
// with a JSON Schema validator other than the one that wrote it.
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(configJsonSchema());
const errorsOf = (file: unknown) =>
  validate(file) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`);

describe('collector.schema.json', () => {
  it('is the schema the collector checks with (run `npm run schema -w @distlog/collector` after changing it)', () => {
    expect(readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(configJsonSchemaText());
  });

  it('accepts the shipped configurations', () => {
    expect(errorsOf(parseYaml(readFileSync(DEFAULT_CONFIG_FILE, 'utf8')))).toEqual([]);
    const deploy = parseYaml(readFileSync(path.resolve(__dirname, '../../../deploy/collector.yaml'), 'utf8'));
    // As the collector reads it: ${VAR:-default} in string values, with the defaults.
    const substituted = JSON.stringify(deploy).replace(
      /\$\{[A-Za-z_]+(?::-([^}]*))?\}/g,
      (_m, fallback: string | undefined) => fallback ?? 'http://clickhouse:8123',
    );
    expect(errorsOf(JSON.parse(substituted))).toEqual([]);
  });

  it('finds what an editor should underline: unknown keys, wrong types, values out of range', () => {
    const errors = errorsOf(
      parseYaml(`
receivers: { grpc: { port: 99999 } }
batch: { maxDelay: soon }
tiers: [{ name: logs }]
colour: red
`),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        '/receivers/grpc/port must be <= 65535',
        '/batch/maxDelay must match pattern "^\\s*(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)\\s*$"',
        "/tiers/0 must have required property 'retentionDays'",
        ' must NOT have additional properties',
      ]),
    );
  });

  it('documents every setting and its default', () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
    for (const [key, section] of Object.entries(schema.properties))
      expect([key, section.description]).toEqual([key, expect.any(String)]);
    const batch = schema.properties.batch as unknown as { properties: { maxRows: { default: number } } };
    expect(batch.properties.maxRows.default).toBe(20_000);
  });
});
