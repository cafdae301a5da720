// Vendors Railway's public GraphQL schema (the CLI's introspection of /graphql/v2) as a pruned introspection result:
// only the root fields trigger-ops and its sandbox use, and the types reachable from them. The result stays a valid
// `buildClientSchema` input, so documents are validated (build time) and executed (sandbox) against the same types.
//
//   npx tsx scripts/vendor-railway-schema.ts <path/to/railwayapp-cli/src/gql/schema.json>
//
// To use a new root field, add it to ROOT_FIELDS and run the script again.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, type IntrospectionQuery, type IntrospectionType, type IntrospectionTypeRef } from 'graphql';

const ROOT_FIELDS = {
  Query: [
    'deployment',
    'deploymentLogs',
    'deployments',
    'domains',
    'environment',
    'me',
    'project',
    'projectToken',
    'service',
    'serviceInstance',
    'tcpProxies',
    'variables',
  ],
  Mutation: [
    'deploymentRedeploy',
    'deploymentRestart',
    'serviceInstanceDeployV2',
    'serviceInstanceRedeploy',
    'serviceInstanceUpdate',
    'variableCollectionUpsert',
    'variableDelete',
    'variableUpsert',
  ],
} as const;

interface Named {
  readonly name: string;
}

function namedType(ref: IntrospectionTypeRef): string {
  let t: IntrospectionTypeRef = ref;
  while ('ofType' in t && t.ofType) t = t.ofType;
  return (t as Named).name;
}

export function pruneIntrospection(full: IntrospectionQuery): IntrospectionQuery {
  const schema = full.__schema;
  const byName = new Map(schema.types.map((t) => [t.name, t] as const));
  const keep = new Set<string>();
  const visit = (name: string): void => {
    if (keep.has(name)) return;
    const type = byName.get(name);
    if (!type) throw new Error(`type ${name} is referenced but not defined`);
    keep.add(name);
    if (type.kind === 'OBJECT' || type.kind === 'INTERFACE') {
      for (const f of type.fields) {
        visit(namedType(f.type));
        for (const a of f.args) visit(namedType(a.type));
      }
      for (const i of type.interfaces) visit(i.name);
    }
    if (type.kind === 'INPUT_OBJECT') for (const f of type.inputFields) visit(namedType(f.type));
    if (type.kind === 'UNION') for (const p of type.possibleTypes) visit(p.name);
  };

  const roots = new Map<string, readonly string[]>([
    [schema.queryType.name, ROOT_FIELDS.Query],
    [schema.mutationType?.name ?? 'Mutation', ROOT_FIELDS.Mutation],
  ]);
  const types: IntrospectionType[] = [];
  for (const [rootName, wanted] of roots) {
    const root = byName.get(rootName);
    if (!root || root.kind !== 'OBJECT') throw new Error(`root type ${rootName} missing`);
    const fields = root.fields.filter((f) => wanted.includes(f.name));
    const missing = wanted.filter((w) => !fields.some((f) => f.name === w));
    if (missing.length > 0) throw new Error(`${rootName} has no field(s) ${missing.join(', ')}`);
    keep.add(rootName);
    for (const f of fields) {
      visit(namedType(f.type));
      for (const a of f.args) visit(namedType(a.type));
    }
    types.push({ ...root, fields });
  }
  for (const d of schema.directives) for (const a of d.args) visit(namedType(a.type));
  for (const t of schema.types) {
    // Introspection types and built-in scalars are always part of a schema.
    if (t.name.startsWith('__')) keep.add(t.name);
  }
  for (const t of schema.types) {
    if (roots.has(t.name) || !keep.has(t.name)) continue;
    types.push(t.kind === 'INTERFACE' ? { ...t, possibleTypes: t.possibleTypes.filter((p) => keep.has(p.name)) } : t);
  }
  types.sort((a, b) => a.name.localeCompare(b.name));
  return {
    __schema: {
      ...schema,
      subscriptionType: null,
      types,
    },
  };
}

function main(): void {
  const source = process.argv[2];
  if (!source) {
    process.stderr.write('usage: npx tsx scripts/vendor-railway-schema.ts <railwayapp/cli src/gql/schema.json>\n');
    process.exit(2);
  }
  const full = (JSON.parse(readFileSync(source, 'utf8')) as { data: IntrospectionQuery }).data;
  const pruned = pruneIntrospection(full);
  buildClientSchema(pruned);
  const out = join(__dirname, '..', 'vendor', 'railway', 'schema.json');
  writeFileSync(out, `${JSON.stringify({ data: pruned }, null, 1)}\n`);
  process.stdout.write(
    `wrote ${out}: ${pruned.__schema.types.length} of ${full.__schema.types.length} types, ` +
      `${ROOT_FIELDS.Query.length} query and ${ROOT_FIELDS.Mutation.length} mutation fields\n`,
  );
}

if (require.main === module) main();
