import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, type GraphQLSchema, type IntrospectionQuery } from 'graphql';

/** Where the vendored introspection (the whole schema) of Railway's public API lives. */
export const RAILWAY_SCHEMA_PATH = join(__dirname, '..', '..', 'vendor', 'railway', 'schema.json');

let cached: GraphQLSchema | undefined;

/** Railway's public schema, as the real API serves it (queries, mutations and subscriptions). */
export function loadRailwaySchema(): GraphQLSchema {
  if (!cached) {
    const json = JSON.parse(readFileSync(RAILWAY_SCHEMA_PATH, 'utf8')) as { data: IntrospectionQuery };
    cached = buildClientSchema(json.data);
  }
  return cached;
}
