import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildClientSchema, parse, validate, type IntrospectionQuery } from 'graphql';
import * as documents from '../../src/activities/railway/documents';
import { NOT_MODELED, startRailwayApi, type RailwayApi } from '../../sandbox/railway';

const root = join(__dirname, '..', '..');
const schema = buildClientSchema(
  (JSON.parse(readFileSync(join(root, 'vendor', 'railway', 'schema.json'), 'utf8')) as { data: IntrospectionQuery }).data,
);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `/* GraphQL *\/` template literal in src. */
function documentsInSource(): { file: string; text: string }[] {
  return sourceFiles(join(root, 'src')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\/\* GraphQL \*\/\s*`([^`]*)`/g)].map((m) => ({
      file: relative(root, file),
      text: m[1] ?? '',
    })),
  );
}

describe('Railway GraphQL documents', () => {
  it('the vendored schema is the CLI\'s file byte for byte (the sha256 vendor/railway/SOURCE.md records)', () => {
    const sha256 = createHash('sha256').update(readFileSync(join(root, 'vendor', 'railway', 'schema.json'))).digest('hex');
    const recorded = /\| sha256 \| `([0-9a-f]{64})` \|/.exec(readFileSync(join(root, 'vendor', 'railway', 'SOURCE.md'), 'utf8'))?.[1];
    assert.equal(sha256, recorded);
  });

  it('every document in src is static and valid against the vendored Railway schema', () => {
    const found = documentsInSource();
    assert.ok(found.length >= 12, `expected the adapter's documents, found ${found.length}`);
    for (const { file, text } of found) {
      assert.ok(!text.includes('${'), `${file}: documents must be static strings`);
      const errors = validate(schema, parse(text));
      assert.deepEqual(
        errors.map((e) => e.message),
        [],
        `${file}: ${text.trim().split('\n')[0]}`,
      );
    }
  });

  it('every exported document of the adapter is one the scan found', () => {
    const scanned = new Set(documentsInSource().map((d) => d.text));
    for (const [name, text] of Object.entries(documents)) assert.ok(scanned.has(text), `${name} is not marked /* GraphQL */`);
  });
});

describe('the Railway stand-in rejects what the real API would reject', () => {
  let api: RailwayApi;
  before(async () => {
    api = await startRailwayApi();
  });
  after(() => api.close());

  const post = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(api.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.accountToken}` },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string }[] } };
  };

  const cases: [string, string, Record<string, unknown>, string][] = [
    ['an unknown field', 'query($id: String!) { project(id: $id) { id zzzz } }', {}, 'Cannot query field "zzzz" on type "Project".'],
    ['a wrong argument type', '{ project(id: 1) { id } }', {}, 'String cannot represent a non string value: 1'],
    [
      'a missing required argument',
      '{ project { id } }',
      {},
      'Field "project" argument "id" of type "String!" is required, but it was not provided.',
    ],
    [
      'a selection on a scalar result',
      'mutation($id: String!) { deploymentRestart(id: $id) { id } }',
      {},
      'Field "deploymentRestart" must not have a selection since type "Boolean!" has no subfields.',
    ],
    [
      'an input field the schema lacks',
      'query($p: String!) { deployments(input: { projectId: $p, status: { successfulOnly: true } }) { edges { node { id } } } }',
      {},
      'Field "successfulOnly" is not defined by type "DeploymentStatusInput".',
    ],
  ];
  for (const [what, query, variables, message] of cases) {
    it(`rejects ${what} with the graphql-js message, HTTP 200 and no data`, async () => {
      const { status, body } = await post(query, variables);
      assert.equal(status, 200);
      assert.equal(body.data, undefined);
      assert.ok(body.errors?.some((e) => e.message === message), JSON.stringify(body.errors));
    });
  }

  it('a valid field the sandbox does not model is an execution error that names it and its path, not a validation error', async () => {
    const { body } = await post('query($id: String!) { project(id: $id) { id volumes { edges { node { id } } } } }', { id: api.projectId });
    assert.equal(body.errors?.length, 1);
    assert.equal(body.errors?.[0]?.message, `Project.volumes ${NOT_MODELED} (at project.volumes)`);
    assert.deepEqual((body.errors?.[0] as { path?: unknown } | undefined)?.path, ['project', 'volumes']);
  });

  it('a root field the sandbox does not model says so', async () => {
    const { body } = await post('{ regions { name } }');
    assert.deepEqual(body.errors?.map((e) => e.message), [`Query.regions ${NOT_MODELED} (at regions)`]);
  });

  it('a variable of the wrong type is rejected with the graphql-js message', async () => {
    const { body } = await post('query($id: String!) { project(id: $id) { id } }', { id: 42 });
    assert.match(body.errors?.[0]?.message ?? '', /Variable "\$id" got invalid value 42; String cannot represent a non string value: 42/);
  });
});
