// A route is declared once — method, path, schemas, who may call it, handler — and that one
// declaration both serves requests and describes them in the OpenAPI document.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { ZodType } from 'zod';
import { z } from 'zod';
import { DomainError } from '../domain/errors.ts';
import { hasAnyRole, type Role } from '../domain/roles.ts';
import type { RequestContext } from '../services/context.ts';
import type { Principal } from '../services/access/index.ts';
import type { CookieInstruction } from './browser-session.ts';

export type Method = 'get' | 'post' | 'patch' | 'delete';

export interface HandlerInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  principal: Principal | null;
  context: RequestContext;
  req: Request;
}

export interface HandlerResult {
  status: number;
  body?: unknown;
  /** A non-JSON answer (the Prometheus exposition format). */
  text?: { contentType: string; body: string };
  /** A download written as it is produced (exports), with backpressure: never held whole. */
  stream?: { contentType: string; filename: string; lines: AsyncIterable<string> };
  /** Cookies to set or clear (the web UI's session). */
  cookies?: CookieInstruction[];
}

export interface RouteResponse {
  description: string;
  schema?: ZodType;
}

export interface Route<B = unknown, Q = unknown, P = unknown> {
  method: Method;
  /** Express syntax (`/api/v1/technicians/:id`); converted to `{id}` for OpenAPI. */
  path: string;
  summary: string;
  tag: string;
  /** `session`: a Bearer access token; `none`: public. */
  auth: 'none' | 'session';
  /** Any of these roles may call it (with auth: session). Empty: any authenticated technician. */
  roles?: Role[];
  body?: ZodType<B>;
  query?: ZodType<Q>;
  params?: ZodType<P>;
  responses: Record<number, RouteResponse>;
  /** Extra middleware before validation, e.g. a rate limiter. */
  before?: RequestHandler[];
  handler(input: HandlerInput<B, Q, P>): Promise<HandlerResult>;
}

export function defineRoute<B = undefined, Q = undefined, P = undefined>(route: Route<B, Q, P>): Route {
  return route as unknown as Route;
}

function parse<T>(schema: ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new DomainError('validation_failed', `The ${where} is not valid`, {
    issues: result.error.issues.map((issue) => ({
      path: [where, ...issue.path.map(String)].join('.'),
      message: issue.message,
    })),
  });
}

/**
 * The path of the first string (or key) holding a NUL character, or null. No field of Stint's has
 * a use for one and PostgreSQL cannot store one in text, so it is refused for every route here, in
 * one place. Walked with a stack of its own: a deeply nested body cannot overflow the call stack.
 */
export function pathOfNul(value: unknown, where: string): string | null {
  const pending: Array<[unknown, string]> = [[value, where]];
  while (pending.length > 0) {
    const [current, path] = pending.pop()!;
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return path;
    } else if (current !== null && typeof current === 'object' && !Buffer.isBuffer(current)) {
      for (const [key, child] of Object.entries(current)) {
        if (key.includes('\u0000')) return path;
        pending.push([child, `${path}.${key}`]);
      }
    }
  }
  return null;
}

function refuseNul(req: Request): void {
  for (const [value, where] of [
    [req.params, 'path'],
    [req.query, 'query'],
    [req.body, 'body'],
  ] as const) {
    const path = pathOfNul(value, where);
    if (path !== null) {
      throw new DomainError('validation_failed', 'A NUL character is not allowed in any field', {
        issues: [{ path, message: 'contains a NUL character' }],
      });
    }
  }
}

export interface MountDeps {
  authenticate(req: Request): Promise<Principal>;
  context(req: Request): RequestContext;
  /** The public URL is https (TLS ends at a proxy, say): cookies are Secure whatever `req.secure` says. */
  secureCookies: boolean;
}

export function mountRoutes(router: Router, routes: readonly Route[], deps: MountDeps): void {
  for (const route of routes) {
    const handle = async (req: Request, res: Response, next: NextFunction) => {
      try {
        // authenticate → authorise the role → validate → call the service → present. The role
        // check comes before validation so a caller without the role learns nothing of the schema.
        const principal = route.auth === 'session' ? await deps.authenticate(req) : null;
        if (principal && route.roles && route.roles.length > 0 && !hasAnyRole(principal.technician.roles, route.roles)) {
          throw new DomainError('forbidden', `This needs one of the roles: ${route.roles.join(', ')}`);
        }
        if (route.body && !req.is('application/json')) {
          throw new DomainError('unsupported_media_type', 'Send the request body as application/json');
        }
        refuseNul(req);
        const body = parse(route.body, req.body, 'body');
        const query = parse(route.query, req.query, 'query');
        const params = parse(route.params, req.params, 'path');
        const result = await route.handler({ body, query, params, principal, context: deps.context(req), req });
        for (const c of result.cookies ?? []) {
          const options = { httpOnly: c.httpOnly, sameSite: 'strict' as const, secure: deps.secureCookies || req.secure, path: c.path };
          if (c.value === null) res.clearCookie(c.name, options);
          else res.cookie(c.name, c.value, options);
        }
        if (result.stream) {
          res.status(result.status).type(result.stream.contentType).attachment(result.stream.filename);
          // Once the first byte is out, an error can only cut the download short; an export's
          // missing manifest then tells the reader it is incomplete.
          await pipeline(Readable.from(result.stream.lines), res);
        } else if (result.text) res.status(result.status).type(result.text.contentType).send(result.text.body);
        else if (result.body === undefined) res.status(result.status).end();
        else res.status(result.status).json(result.body);
      } catch (error) {
        if (res.headersSent) res.destroy(error as Error);
        else next(error);
      }
    };
    router[route.method](route.path, ...(route.before ?? []), handle);
  }
}

/** Path parameters shared by most resources. */
export const idParams = z.object({ id: z.string().min(1).max(128) });
