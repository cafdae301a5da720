// Vendors Railway's public GraphQL schema (the CLI's introspection of /graphql/v2) byte for byte: the stand-in
// validates and executes against the same types the real API serves, every root field and subscription included.
//
//   npx tsx scripts/vendor-railway-schema.ts <path/to/railwayapp-cli/src/gql/schema.json>
//
// Record the printed sha256 and type count in vendor/railway/SOURCE.md.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, type IntrospectionQuery } from 'graphql';

function main(): void {
  const source = process.argv[2];
  if (!source) {
    process.stderr.write('usage: npx tsx scripts/vendor-railway-schema.ts <railwayapp/cli src/gql/schema.json>\n');
    process.exit(2);
  }
  const bytes = readFileSync(source);
  const introspection = (JSON.parse(bytes.toString('utf8')) as { data: IntrospectionQuery }).data;
  // Refuse a file graphql-js cannot build: the sandbox would fail at its first request instead.
  buildClientSchema(introspection);
  const out = join(__dirname, '..', 'vendor', 'railway', 'schema.json');
  writeFileSync(out, bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  process.stdout.write(
    `wrote ${out}: ${bytes.length} bytes, sha256 ${sha256}, ${introspection.__schema.types.length} types\n`,
  );
}

if (require.main === module) main();
