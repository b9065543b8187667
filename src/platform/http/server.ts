import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { redactUrl, type Logger } from '../logger.js';
import { AppError } from '../errors.js';
import type { Metrics } from './metrics.js';

export type App = FastifyInstance<any, any, any, Logger, ZodTypeProvider>;

export interface HttpOptions {
  logger: Logger;
  bodyLimitBytes: number;
  metrics: Metrics;
  webDist?: string;
}

/** One error shape everywhere: `{ error: { code, message, details } }`. */
export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details !== undefined ? { details } : {}) } };
}

export async function createHttpServer(opts: HttpOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimitBytes,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  }).withTypeProvider<ZodTypeProvider>() as unknown as App;

  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API (OpenAPI) and type the handlers at compile time; re-validating every
  // response at run time cost more CPU than the rest of a request, so responses are serialised as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Firebreak API', version: '1', description: 'Incidents, timeline, users and API keys. Authenticate with `Authorization: Bearer <API key>`.' },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    opts.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (reply.statusCode >= 500) req.log.error({ method: req.method, url: redactUrl(req.url), status: reply.statusCode }, 'request failed');
    else req.log.debug({ method: req.method, url: redactUrl(req.url), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
  });

  app.setErrorHandler((err: FastifyError | AppError, req, reply) => {
    if (err instanceof AppError) {
      return reply.status(err.status).send(errorBody(err.code, err.message, err.details));
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const fields = err.validation.map((v) => ({
        path: [err.validationContext, ...String(v.instancePath).split('/').filter(Boolean)].join('.').replace(/^body\./, ''),
        message: v.message ?? 'is invalid',
      }));
      return reply.status(400).send(errorBody('validation_failed', `The request ${err.validationContext ?? ''} is invalid: ${fields.map((f) => `${f.path} ${f.message}`).join('; ')}`, { fields }));
    }
    const code = (err as FastifyError).code;
    const status = (err as FastifyError).statusCode ?? 500;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send(errorBody('body_too_large', `The request body is larger than the ${opts.bodyLimitBytes} bytes allowed.`));
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send(errorBody('unsupported_media_type', 'Send the body as application/json.'));
    if (code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return reply.status(400).send(errorBody('invalid_json', 'The body is empty; send a JSON object (e.g. {}).'));
    if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err instanceof SyntaxError && status === 400)) {
      return reply.status(400).send(errorBody('invalid_json', `The body is not valid JSON: ${err.message}`));
    }
    if (status >= 400 && status < 500) return reply.status(status).send(errorBody(code?.toLowerCase() ?? 'bad_request', err.message));
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send(errorBody('internal_error', 'Something went wrong on our side; the error was logged.'));
  });

  const webDist = opts.webDist ?? resolve('web/dist');
  const hasWeb = existsSync(resolve(webDist, 'index.html'));
  if (hasWeb) {
    // wildcard: files are looked up per request, so a rebuilt web/dist is served without a restart.
    await app.register(fastifyStatic, { root: webDist, prefix: '/', wildcard: true, index: false });
  }
  const sendApp = (reply: import('fastify').FastifyReply) =>
    hasWeb ? reply.type('text/html').sendFile('index.html') : reply.type('text/plain').send('The web app is not built. Run `npm run build:web` (npm start does it for you).');
  app.get('/', { schema: { hide: true } }, (_req, reply) => sendApp(reply));
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const isApi = path.startsWith('/api/') || path.startsWith('/auth/') || path.startsWith('/slack/') || path.startsWith('/webhooks/');
    const looksLikeFile = /\.[a-z0-9]{1,8}$/i.test(path);
    if (!isApi && req.method === 'GET' && !looksLikeFile) return sendApp(reply);
    return reply.status(404).send(errorBody('not_found', `No route for ${req.method} ${path}.`));
  });

  return app;
}
