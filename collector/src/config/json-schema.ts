import path from 'node:path';
import { z } from 'zod';
import { configSchema } from './schema';

/** Where the published JSON Schema lives (in the package: editors and `check-config` users point at it). */
export const JSON_SCHEMA_FILE = path.resolve(__dirname, '../../config/collector.schema.json');

/**
 * The configuration schema as JSON Schema (draft 2020-12), as a file is written: durations
 * and sizes as numbers or strings, defaults shown. What needs several keys at once (a
 * rule naming a tier) or the environment (secrets) is checked by the collector only.
 */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...(allowPlaceholders(
      z.toJSONSchema(configSchema({}), { io: 'input', unrepresentable: 'any' }),
    ) as object),
    $id: 'https://distlog.dev/schemas/collector.schema.json',
    title: 'Distlog collector configuration',
  };
}

export function configJsonSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}

/** `${VAR}` / `${VAR:-default}`: replaced from the environment before the collector checks a value. */
const PLACEHOLDER = {
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}',
  description: '${VAR} or ${VAR:-default}: taken from the environment',
};

/** Where a value must have a format (a pattern, one of some words), a placeholder is accepted too. */
function allowPlaceholders(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowPlaceholders);
  if (typeof node !== 'object' || node === null) return node;
  const o = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, allowPlaceholders(v)]));
  const formatted = o.type === 'string' && (o.pattern !== undefined || o.enum !== undefined);
  if (!formatted) return o;
  const { description, default: fallback, ...rest } = o;
  return {
    ...(description !== undefined ? { description } : {}),
    ...(fallback !== undefined ? { default: fallback } : {}),
    anyOf: [rest, PLACEHOLDER],
  };
}
