// The OpenAPI 3.1 document, generated from the same route declarations and zod schemas that
// validate requests, so it cannot drift from the routes.
import { z, type ZodType } from 'zod';
import { errorBodySchema } from './errors.ts';
import type { Route } from './route.ts';

type Json = Record<string, unknown>;

const jsonSchema = (schema: ZodType, io: 'input' | 'output'): Json =>
  z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json;

function withoutDialect(schema: Json): Json {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}

function parametersOf(route: Route): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (object.required ?? []).includes(name),
        schema: withoutDialect(property),
        ...(typeof property.description === 'string' && { description: property.description }),
      });
    }
  }
  return out;
}

export function buildOpenApiDocument(routes: readonly Route[], info: { version: string; serverUrl?: string }): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const responses: Json = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema && { content: { 'application/json': { schema: withoutDialect(jsonSchema(response.schema, 'output')) } } }),
      };
    }
    responses['4XX'] = {
      description: 'The request was refused; the body says why',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    // Any route may meet the store or Redis down: it answers at once, in the same shape.
    responses['503'] ??= {
      description: 'The store or the job queue (Redis) cannot be reached; try again shortly',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      ...(route.auth === 'session' ? { security: [{ bearer: [] }] } : { security: [] }),
      ...(route.roles?.length && { 'x-stint-roles': route.roles }),
      parameters: parametersOf(route),
      ...(route.body && {
        requestBody: { required: true, content: { 'application/json': { schema: withoutDialect(jsonSchema(route.body, 'input')) } } },
      }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Stint API',
      version: info.version,
      description: 'Just-in-time, MFA-checked, audited privileged access to clients’ Active Directory groups.',
    },
    ...(info.serverUrl && { servers: [{ url: info.serverUrl }] }),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: withoutDialect(jsonSchema(errorBodySchema, 'output')) },
    },
  };
}
