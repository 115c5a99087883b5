import type { FastifyInstance } from 'fastify';
import { ApiError } from '../api-errors';

/**
 * One mapping from errors to answers: the API's own errors by class (api-errors.ts),
 * Fastify's validation and client errors as they are, ClickHouse refusing the user's own
 * input (a bad regular expression, SQL in the console) as 400, anything else 500.
 */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof ApiError)
      return reply.code(err.statusCode).send({ error: err.message, ...err.details });
    if (err.validation) return reply.code(400).send({ error: err.message });
    if (err.statusCode && err.statusCode < 500)
      return reply.code(err.statusCode).send({ error: err.message });
    const userError = clickHouseUserError(err);
    if (userError) return reply.code(400).send({ error: userError });
    return reply.code(500).send({ error: err.message });
  });
}

/**
 * ClickHouse error codes that mean "the request was wrong" (bad regular expression, SQL
 * syntax, read-only, time limit, unknown name, …): answered 400 with ClickHouse's own
 * words. Old servers send `Code: N, e.displayText() = DB::Exception: …`; new clients
 * give the code as a property.
 */
const USER_ERROR_CODES = new Set([6, 16, 27, 36, 42, 43, 46, 47, 53, 60, 62, 81, 159, 164, 215, 396, 427]);

function clickHouseUserError(err: Error): string | undefined {
  const m = /^Code: (\d+)/.exec(err.message);
  const code = m ? Number(m[1]) : Number((err as { code?: unknown }).code);
  if (!USER_ERROR_CODES.has(code)) return undefined;
  const text = /DB::Exception: ([\s\S]*?)(?:, e\.what\(\) = |$)/.exec(err.message)?.[1] ?? err.message;
  return `ClickHouse refused the query (code ${code}): ${text.split('\n')[0].trim()}`;
}
