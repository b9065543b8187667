import { z } from 'zod';
import type { App } from '../platform/http/server.js';
import { actorOf, requireAccess } from '../users/auth.js';
import type { ExpressionsModule } from './index.js';
import { MAX_SOURCE } from './compile.js';

// REST: check an expression (as an editor saves it) and preview it against a real incident. Reading is enough for
// both: nothing changes, and what an expression can see is what a reader can see.

const expression = z.string().max(MAX_SOURCE, `must be at most ${MAX_SOURCE} characters`);
const expect = z.enum(['bool', 'any']).optional().describe('bool: the expression must give true or false (conditions); any (default)');
const errorJson = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).nullable() }) });
const visitJson = z.object({ id: z.string(), name: z.string(), type: z.string(), via: z.string() });

export function registerExpressionRoutes(app: App, deps: { expressions: ExpressionsModule }): void {
  const { expressions } = deps;
  const read = requireAccess('read');
  const tags = ['expressions'];

  app.post(
    '/api/v1/expressions/check',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Type-check an expression against the current catalog and custom fields',
        description:
          'Answers the type the expression gives, or 400 `invalid_expression` with details { position: { offset, line, column }, message, available, reason }: `available` lists what exists at that position (e.g. the fields of the value being read).',
        body: z.strictObject({ expression, expect }),
        response: { 200: z.object({ type: z.string() }) },
      },
    },
    async (req) => expressions.check(req.body.expression, { expect: req.body.expect }),
  );

  const memberJson = z.object({ name: z.string(), type: z.string(), doc: z.string() });
  app.get(
    '/api/v1/expressions/reference',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'What expressions can use now: variables, types with their members (catalog types included), functions',
        response: {
          200: z.object({
            variables: z.array(memberJson),
            types: z.array(z.object({ name: z.string(), catalog_type: z.string().nullable(), members: z.array(memberJson) })),
            functions: z.array(z.object({ signature: z.string(), doc: z.string() })),
          }),
        },
      },
    },
    async () => {
      const built = await expressions.environment();
      const catalogName = new Map([...built.typesById.values()].map((t) => [t.celName, t.type.name]));
      return {
        variables: [...built.variables.entries()].map(([name, m]) => ({ name, ...m })),
        types: [...built.members.entries()].map(([name, members]) => ({
          name,
          catalog_type: catalogName.get(name) ?? null,
          members: [...members.entries()].map(([n, m]) => ({ name: n, ...m })),
        })),
        functions: built.functions,
      };
    },
  );

  app.post(
    '/api/v1/expressions/preview',
    {
      onRequest: read,
      schema: {
        tags,
        summary: 'Evaluate an expression against a real incident: its value and the catalog entries it visited',
        description:
          'Entries in the value are { id, name, type }. `visited` lists each catalog entry the evaluation reached and the path it was reached by. 422 `expression_too_costly` when the evaluation ran past its budget (time, result size, or what one evaluation loads); 422 `evaluation_failed` when it failed on this incident\'s data.',
        body: z.strictObject({ expression, incident_id: z.string().trim().min(1).max(64), expect }),
        response: {
          200: z.object({
            value: z.unknown(),
            type: z.string(),
            visited: z.array(visitJson),
            duration_ms: z.number(),
            context: z.object({ entries: z.number(), depth: z.number(), truncated: z.boolean(), load_ms: z.number() }),
          }),
          422: errorJson.describe('The evaluation was stopped (expression_too_costly) or failed on this incident (evaluation_failed)'),
        },
      },
    },
    async (req) => {
      const compiled = await expressions.compile(req.body.expression, { expect: req.body.expect });
      const ctx = await expressions.contextFor(req.body.incident_id, actorOf(req.principal!));
      const started = performance.now();
      const r = expressions.evaluate(compiled, ctx);
      return {
        value: r.value,
        type: r.type,
        visited: r.visited,
        duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
        context: { entries: ctx.stats.entries, depth: ctx.stats.depth, truncated: ctx.stats.truncated, load_ms: Math.round(ctx.stats.loadMs * 10) / 10 },
      };
    },
  );
}
