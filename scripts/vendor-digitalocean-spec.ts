// Writes vendor/digitalocean/openapi.json: the operations trigger-ops uses, cut out of DigitalOcean's official
// multi-file OpenAPI spec, with every $ref resolved. Schemas become named components (shared, so the file stays
// small); operation files, responses, parameters and headers are inlined. Prose (description, examples, code
// samples) is dropped: the file is for validation, the upstream repository is for reading.
//
// Run at vendoring time only, from a checkout that has the spec next to it:
//   npx tsx scripts/vendor-digitalocean-spec.ts [path/to/specification]
import { $RefParser } from '@apidevtools/json-schema-ref-parser';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Every operation the controller or the sandbox uses, by path and method (the spec's operationId in comments). */
export const KEPT_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  '/v2/account': ['get'], // account_get
  '/v2/account/keys': ['get', 'post'], // sshKeys_list, sshKeys_create
  '/v2/account/keys/{ssh_key_identifier}': ['get', 'delete'], // sshKeys_get, sshKeys_delete
  '/v2/actions/{action_id}': ['get'], // actions_get
  '/v2/droplets': ['get', 'post', 'delete'], // droplets_list, droplets_create, droplets_destroy_byTag
  '/v2/droplets/{droplet_id}': ['get', 'delete'], // droplets_get, droplets_destroy
  '/v2/droplets/actions': ['post'], // dropletActions_post_byTag
  '/v2/droplets/{droplet_id}/actions': ['get', 'post'], // dropletActions_list, dropletActions_post
  '/v2/droplets/{droplet_id}/actions/{action_id}': ['get'], // dropletActions_get
  '/v2/droplets/{droplet_id}/firewalls': ['get'], // droplets_list_firewalls
  '/v2/droplets/{droplet_id}/destroy_with_associated_resources': ['get'], // droplets_list_associatedResources
  '/v2/droplets/{droplet_id}/destroy_with_associated_resources/selective': ['delete'], // droplets_destroy_withAssociatedResourcesSelective
  '/v2/droplets/{droplet_id}/destroy_with_associated_resources/dangerous': ['delete'], // droplets_destroy_withAssociatedResourcesDangerous
  '/v2/droplets/{droplet_id}/destroy_with_associated_resources/status': ['get'], // droplets_get_DestroyAssociatedResourcesStatus
  '/v2/firewalls': ['get', 'post'], // firewalls_list, firewalls_create
  '/v2/firewalls/{firewall_id}': ['get', 'put', 'delete'], // firewalls_get, firewalls_update, firewalls_delete
  '/v2/firewalls/{firewall_id}/droplets': ['post', 'delete'], // firewalls_assign_droplets, firewalls_delete_droplets
  '/v2/firewalls/{firewall_id}/tags': ['post', 'delete'], // firewalls_add_tags, firewalls_delete_tags
  '/v2/images': ['get'], // images_list
  '/v2/images/{image_id}': ['get'], // images_get
  ...Object.fromEntries(
    ['bandwidth', 'cpu', 'filesystem_free', 'filesystem_size', 'load_1', 'load_5', 'load_15', 'memory_cached', 'memory_free', 'memory_total', 'memory_available'].map(
      (metric) => [`/v2/monitoring/metrics/droplet/${metric}`, ['get']],
    ),
  ), // monitoring_get_Droplet…Metrics
  '/v2/regions': ['get'], // regions_list
  '/v2/sizes': ['get'], // sizes_list
  '/v2/tags': ['get', 'post'], // tags_list, tags_create
  '/v2/tags/{tag_id}': ['get', 'delete'], // tags_get, tags_delete
  '/v2/tags/{tag_id}/resources': ['post'], // tags_assign_resources
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Keys that are documentation wherever they appear as keywords (never when they name a property). */
const PROSE_KEYS = new Set(['description', 'example', 'examples', 'x-codeSamples', 'externalDocs', 'x-displayName']);
/** Keys under which the children are schemas, entered from a non-schema context. */
const SCHEMA_ENTRY_KEYS = new Set(['schema']);
/** Keys whose children are user-chosen names, not keywords. */
const NAME_MAP_KEYS = new Set(['properties', 'patternProperties', 'headers', 'content', 'responses', 'paths']);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Vendorer {
  readonly schemas: Record<string, Json> = {};
  private readonly names = new Map<string, string>();

  constructor(private readonly parser: $RefParser) {}

  /** Copies `node` (found in file `base`), inlining non-schema refs and naming schema refs as components. */
  walk(node: Json, base: string, inSchema: boolean, parentKey: string | undefined): Json {
    if (Array.isArray(node)) return node.map((item) => this.walk(item, base, inSchema, undefined));
    if (!isObject(node)) return node;
    const ref = node['$ref'];
    if (typeof ref === 'string') {
      const target = absoluteRef(ref, base);
      if (inSchema) return { $ref: `#/components/schemas/${this.component(target)}` };
      return this.walk(this.lookup(target), fileOf(target), false, parentKey);
    }
    if (inSchema && parentKey === 'discriminator' && isObject(node['mapping'])) {
      // Mapping values are references too: point them at the components the walk names.
      const mapping = Object.entries(node['mapping']).map(([value, target]) => [
        value,
        typeof target === 'string' ? `#/components/schemas/${this.component(absoluteRef(target, base))}` : target,
      ]);
      return { ...node, mapping: Object.fromEntries(mapping) };
    }
    const namesChildren = parentKey !== undefined && NAME_MAP_KEYS.has(parentKey);
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (!namesChildren && PROSE_KEYS.has(key)) continue;
      out[key] = this.walk(value, base, inSchema || SCHEMA_ENTRY_KEYS.has(key), namesChildren ? undefined : key);
    }
    return out;
  }

  private component(target: string): string {
    const known = this.names.get(target);
    if (known) return known;
    const [file = target, pointer = ''] = target.split('#');
    const taken = new Set(this.names.values());
    let name = pointer.split('/').filter(Boolean).pop() ?? basename(file).replace(/\.ya?ml$/, '');
    // Same name from another area (…/<area>/models/x.yml): prefix the area.
    if (taken.has(name)) name = `${basename(dirname(dirname(file)))}_${name}`;
    for (let n = 2; taken.has(name); n++) name = `${name}_${n}`;
    this.names.set(target, name);
    this.schemas[name] = this.walk(this.lookup(target), fileOf(target), true, undefined);
    return name;
  }

  private lookup(target: string): Json {
    const value = this.parser.$refs.get(target);
    if (value === undefined) throw new Error(`unresolved $ref ${target}`);
    return value as Json;
  }
}

function fileOf(target: string): string {
  return target.split('#')[0] ?? target;
}

function absoluteRef(ref: string, base: string): string {
  const [file = '', pointer] = ref.split('#');
  const abs = file === '' ? base : resolve(dirname(base), file);
  return pointer === undefined ? abs : `${abs}#${pointer}`;
}

async function main(): Promise<void> {
  const root = join(__dirname, '..');
  const specDir = resolve(process.argv[2] ?? join(root, '..', 'shared', 'digitalocean', 'specification'));
  const entry = join(specDir, 'DigitalOcean-public.v2.yaml');
  const parser = new $RefParser();
  await parser.resolve(entry);
  const spec = parser.schema as JsonObject;
  const vendorer = new Vendorer(parser);

  const allPaths = spec['paths'];
  if (!isObject(allPaths)) throw new Error('spec has no paths');
  const paths: JsonObject = {};
  for (const [path, methods] of Object.entries(KEPT_OPERATIONS)) {
    const item = allPaths[path];
    if (!isObject(item)) throw new Error(`spec has no path ${path}`);
    const kept: JsonObject = {};
    for (const method of methods) {
      const operation = item[method];
      if (!isObject(operation)) throw new Error(`spec has no ${method.toUpperCase()} ${path}`);
      kept[method] = vendorer.walk(operation, entry, false, method);
    }
    paths[path] = kept;
  }

  const info = spec['info'];
  const components = spec['components'];
  const securitySchemes = isObject(components) ? components['securitySchemes'] : undefined;
  const bearer = isObject(securitySchemes) ? securitySchemes['bearer_auth'] : undefined;
  const sortedSchemas = Object.fromEntries(Object.entries(vendorer.schemas).sort(([a], [b]) => a.localeCompare(b)));
  const out: JsonObject = {
    openapi: spec['openapi'] ?? '3.0.0',
    info: isObject(info) ? { title: info['title'] ?? null, version: info['version'] ?? null, license: info['license'] ?? null } : null,
    servers: spec['servers'] ?? [],
    security: spec['security'] ?? [],
    paths,
    components: {
      securitySchemes: isObject(bearer) ? { bearer_auth: { type: 'http', scheme: 'bearer' } } : {},
      schemas: sortedSchemas,
    },
  };

  const vendorDir = join(root, 'vendor', 'digitalocean');
  mkdirSync(vendorDir, { recursive: true });
  writeFileSync(join(vendorDir, 'openapi.json'), `${JSON.stringify(out, null, 1)}\n`);
  const license = join(vendorDir, 'LICENSE');
  copyFileSync(join(specDir, '..', 'LICENSE'), license);
  chmodSync(license, 0o644);
  const source = readFileSync(join(specDir, '..', 'SOURCE.md'), 'utf8');
  const commit = /`([0-9a-f]{40})`/.exec(source)?.[1] ?? 'unknown';
  const date = /commit date \| (\d{4}-\d{2}-\d{2})/.exec(source)?.[1] ?? 'unknown';
  writeFileSync(join(vendorDir, 'SOURCE.md'), sourceNote(commit, date, Object.keys(sortedSchemas).length));
  const requests = clientRequests(spec, entry);
  writeFileSync(join(vendorDir, 'client-requests.json'), `${JSON.stringify(requests, null, 1)}\n`);
  process.stdout.write(`wrote ${requests.length} documented client requests\n`);
  process.stdout.write(`wrote ${Object.keys(paths).length} paths, ${Object.keys(sortedSchemas).length} schemas to ${vendorDir}\n`);
}

/** One documented request: the spec's own cURL sample of a kept operation, as the HTTP request it sends. */
export interface ClientRequest {
  readonly operationId: string;
  /** The sample's comment line, when it has several (e.g. "Reboot a Droplet"). */
  readonly title: string;
  readonly method: string;
  /** Path and query as in the sample, e.g. "/v2/droplets?page=1&per_page=1". */
  readonly url: string;
  /** Headers other than Authorization and Content-Type (e.g. X-Dangerous). */
  readonly headers: Record<string, string>;
  readonly body: Json | null;
}

/** Shell words of one command line (single and double quotes, no expansion: the samples need none). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] ?? (m[2] === undefined ? (m[3] ?? '') : m[2].replace(/\\(.)/g, '$1')));
  return words;
}

/** Every kept operation's cURL samples (x-codeSamples), parsed into requests. */
function clientRequests(spec: JsonObject, entry: string): ClientRequest[] {
  const out: ClientRequest[] = [];
  const paths = spec['paths'] as JsonObject;
  for (const [path, methods] of Object.entries(KEPT_OPERATIONS)) {
    for (const method of methods) {
      const ref = ((paths[path] as JsonObject)[method] as JsonObject)['$ref'];
      if (typeof ref !== 'string') continue;
      const file = join(dirname(entry), ref);
      const operation = parseYaml(readFileSync(file, 'utf8')) as JsonObject;
      for (const sample of (operation['x-codeSamples'] as Json[] | undefined) ?? []) {
        const sampleRef = isObject(sample) ? sample['$ref'] : undefined;
        if (typeof sampleRef !== 'string' || !sampleRef.includes('/curl/')) continue;
        const source = String((parseYaml(readFileSync(join(dirname(file), sampleRef), 'utf8')) as JsonObject)['source'] ?? '');
        let title = '';
        for (const block of source.replace(/\\\n/g, ' ').split('\n')) {
          const line = block.trim();
          if (line.startsWith('#')) title = line.replace(/^#\s*/, '');
          if (!line.startsWith('curl ')) continue;
          const words = shellWords(line);
          const headers: Record<string, string> = {};
          let verb = 'GET';
          let body: Json | null = null;
          let url = '';
          for (let i = 1; i < words.length; i++) {
            const w = words[i] ?? '';
            if (w === '-X' || w === '--request') verb = words[++i] ?? verb;
            else if (w === '-H' || w === '--header') {
              const [name = '', ...rest] = (words[++i] ?? '').split(':');
              if (!/^(authorization|content-type)$/i.test(name.trim())) headers[name.trim()] = rest.join(':').trim();
            } else if (w === '-d' || w === '--data' || w === '--data-raw') body = JSON.parse(words[++i] ?? 'null') as Json;
            else if (w.startsWith('https://api.digitalocean.com')) url = w.slice('https://api.digitalocean.com'.length);
          }
          out.push({ operationId: String(operation['operationId']), title, method: verb.toUpperCase(), url, headers, body });
        }
      }
    }
  }
  return out;
}

function sourceNote(commit: string, date: string, schemaCount: number): string {
  const operations = Object.entries(KEPT_OPERATIONS)
    .flatMap(([path, methods]) => methods.map((m) => `- \`${m.toUpperCase()} ${path}\``))
    .join('\n');
  return `# DigitalOcean API v2 OpenAPI spec (vendored subset)

- \`openapi.json\`: the operations trigger-ops uses, cut out of DigitalOcean's official OpenAPI 3.0 spec
  (\`specification/DigitalOcean-public.v2.yaml\` in the public repository \`digitalocean/openapi\`, commit
  \`${commit}\`, ${date}). Every \`$ref\` is resolved: ${schemaCount} schemas are kept as
  \`#/components/schemas/<name>\` (named after their upstream file or pointer); operations, parameters, responses
  and headers are inlined. Descriptions, examples and code samples are dropped; nothing else is changed.
- The stand-in reads it as OpenAPI 3.0 (\`nullable\`, \`discriminator\`). Like the real API it ignores unknown
  body fields and query parameters and takes \`null\` as not given; it reports what it ignored
  (\`inspect().ignoredRequestParts\`), which our own client's tests expect to be empty.
- \`client-requests.json\`: the spec's own cURL samples (x-codeSamples) of the kept operations, each parsed into
  the request it sends (method, path and query, headers other than the token, body), as DigitalOcean documents
  them for every client; \`test/contract/digitalocean-client-requests.test.ts\` replays them against the stand-in.
- Licence: Apache-2.0, see \`LICENSE\` (a copy of the upstream one).
- Used by the DigitalOcean stand-in (\`sandbox/digitalocean/\`) to validate every request and response, and by
  \`test/contract/digitalocean-spec.test.ts\`.

## Kept operations

${operations}

## Regenerate

With the upstream \`specification/\` folder available (here: \`../shared/digitalocean/specification\`):

\`\`\`sh
npx tsx scripts/vendor-digitalocean-spec.ts [path/to/specification]
\`\`\`

To keep another operation, add it to \`KEPT_OPERATIONS\` in that script and run it again.
`;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
