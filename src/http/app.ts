// createApp(container): the Express application, built without listening, so tests drive it
// in-process over HTTP (supertest) and src/main.ts decides where it listens.
import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Container } from '../container.ts';
import { DomainError } from '../domain/errors.ts';
import type { RequestContext } from '../services/context.ts';
import { assertSameOriginRequest, cookieNames, readCookie } from './browser-session.ts';
import { errorHandler, sendError } from './errors.ts';
import { buildOpenApiDocument } from './openapi.ts';
import { mountRoutes, type Route } from './route.ts';
import { accessRoutes } from './routes/access.ts';
import { auditRoutes } from './routes/audit.ts';
import { killSwitchRoutes } from './routes/kill-switches.ts';
import { elevationHistoryRoutes } from './routes/elevation-history.ts';
import { elevationRoutes } from './routes/elevations.ts';
import { authRoutes } from './routes/auth.ts';
import { healthRoutes, metricsGate, notFound, renderMetrics } from './routes/health.ts';
import { reviewRoutes } from './routes/reviews.ts';
import { slackRoutes } from './routes/slack.ts';
import { technicianRoutes } from './routes/technicians.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { webUi } from './web-ui.ts';

export const apiVersion = '0.1.0';

const requestIdPattern = /^[A-Za-z0-9._-]{8,64}$/;

function bearerToken(req: Request): string {
  const header = req.get('authorization');
  const match = header ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
  if (!match) throw new DomainError('unauthenticated', 'Send an access token: Authorization: Bearer <token>');
  return match[1]!;
}

function limiter(windowSeconds: number, limit: number): RequestHandler {
  return rateLimit({
    windowMs: windowSeconds * 1000,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, res) => sendError(res, new DomainError('rate_limited', 'Too many attempts; slow down and try again shortly')),
  });
}

export function createApp(container: Container) {
  const { config, services, logger } = container;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.server.trustProxy);

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug'),
    }),
  );
  // A strict Content-Security-Policy: scripts and styles only from this origin, never inline; the
  // web UI's QR code is a data: image. No upgrade-insecure-requests: TLS is the deployment's choice.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'none'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          baseUri: ["'none'"],
          objectSrc: ["'none'"],
        },
      },
    }),
  );
  app.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-store');
    next();
  });
  app.use(express.json({ limit: config.server.bodyLimitBytes, strict: true, type: ['application/json', 'application/*+json'] }));

  const windowSeconds = config.rateLimit.windowSeconds;
  const limits = {
    login: limiter(windowSeconds, config.rateLimit.loginPerWindow),
    mfa: limiter(windowSeconds, config.rateLimit.mfaPerWindow),
    ready: limiter(windowSeconds, config.rateLimit.readyPerWindow),
  };

  const described: { document?: unknown } = {};
  const routes: Route[] = [
    ...healthRoutes(container, () => described.document, limits),
    ...authRoutes(services, limits, { csrf: container.csrf, publicUrl: config.server.publicUrl }),
    ...technicianRoutes(services),
    ...tenantRoutes(services),
    ...accessRoutes(services),
    ...elevationHistoryRoutes(services),
    ...elevationRoutes(services),
    ...killSwitchRoutes(services),
    ...auditRoutes(services, container.siem),
    ...reviewRoutes(services),
    ...(container.slack ? slackRoutes(container.slack.service, config.server.bodyLimitBytes) : []),
  ];
  const openApiDocument = buildOpenApiDocument(routes, { version: apiVersion, serverUrl: config.server.publicUrl });
  described.document = openApiDocument;

  const context = (req: Request): RequestContext => ({
    requestId: typeof req.id === 'string' ? req.id : String(req.id ?? ''),
    sourceIp: req.ip ?? null,
    userAgent: req.get('user-agent') ?? null,
  });

  const router = express.Router();
  mountRoutes(router, routes, {
    authenticate: async (req) => {
      // The web UI's session cookie, where no Authorization header is sent; state changes made on
      // the cookie must prove they come from a page of this origin.
      const cookie = req.get('authorization') ? null : readCookie(req, cookieNames.access);
      if (!cookie) return services.auth.authenticate(bearerToken(req));
      const principal = await services.auth.authenticate(cookie);
      assertSameOriginRequest(req, principal.sessionId, container.csrf, config.server.publicUrl);
      return principal;
    },
    context,
    secureCookies: config.server.publicUrl?.startsWith('https:') ?? false,
  });
  app.use(router);
  app.use(webUi());
  app.use((_req, _res, next) => next(notFound()));
  app.use(errorHandler(logger));
  return { app, routes, openApiDocument };
}

/** /metrics alone, for `metrics.listen`: an address only the monitoring network reaches. */
export function createMetricsApp(container: Container) {
  const app = express();
  app.disable('x-powered-by');
  const gate = metricsGate(container.config);
  app.get('/metrics', (req, res, next) => {
    Promise.resolve()
      .then(async () => {
        gate(req, true);
        const { text } = await renderMetrics(container);
        res.set('cache-control', 'no-store').type(text!.contentType).send(text!.body);
      })
      .catch(next);
  });
  app.use((_req, _res, next) => next(notFound()));
  app.use(errorHandler(container.logger));
  return app;
}
