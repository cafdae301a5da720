import Ajv2019, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import vendored from '../../vendor/digitalocean/openapi.json';

/**
 * Request and response validation against the vendored DigitalOcean OpenAPI subset (vendor/digitalocean). OpenAPI
 * 3.0 schemas are turned into JSON Schema 2019-09 once at load: `nullable` becomes a `null` type, a discriminator
 * becomes an if/then chain (so a resize body is checked as a resize, not as "any action"). Requests are as lenient
 * as the real API's: unknown body fields and query parameters are ignored, and `null` is taken as "not given" (what
 * DigitalOcean's own clients send for unset optional fields). What was ignored is reported (`ignored`), so our own
 * tests still fail on a typo in our requests instead of it being silently dropped.
 */

type Schema = { [key: string]: unknown };
type HttpMethod = 'get' | 'post' | 'put' | 'delete';

export interface Operation {
  readonly operationId: string;
  readonly method: HttpMethod;
  readonly pathTemplate: string;
  readonly pattern: RegExp;
  readonly paramNames: readonly string[];
  readonly responseStatuses: readonly string[];
}

export interface RequestParts {
  readonly pathParams: Record<string, string>;
  readonly query: Record<string, string>;
  readonly body: unknown;
}

export type RequestCheck =
  | {
      readonly ok: true;
      readonly pathParams: Record<string, unknown>;
      readonly query: Record<string, unknown>;
      /** The body as the handler sees it (nulls dropped), undefined when the operation takes none. */
      readonly body: unknown;
      /** What the real API ignores and so did the stand-in: unknown query parameters and body fields, a stray body. */
      readonly ignored: readonly string[];
    }
  | { readonly ok: false; readonly message: string };

interface OperationValidators {
  readonly path: ValidateFunction;
  readonly query: ValidateFunction;
  readonly queryNames: ReadonlySet<string>;
  readonly body: ValidateFunction | undefined;
  /** The same body schema with every object closed: its errors name the fields the real API would ignore. */
  readonly closedBody: ValidateFunction | undefined;
  readonly bodyRequired: boolean;
  readonly responses: Map<string, ValidateFunction | undefined>;
}

const METHODS: readonly HttpMethod[] = ['get', 'post', 'put', 'delete'];
const DOC_ID = 'digitalocean-openapi';

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(value: Schema, key: string): Schema {
  const found = value[key];
  return isSchema(found) ? found : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** OpenAPI 3.0 → JSON Schema 2019-09, applied to every schema-shaped node of the document. */
function toJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(toJsonSchema);
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === 'properties' && isSchema(value) ? mapValues(value, toJsonSchema) : toJsonSchema(value);
  }
  if (out['nullable'] === true) {
    delete out['nullable'];
    if (typeof out['type'] === 'string') {
      out['type'] = [out['type'], 'null'];
      if (Array.isArray(out['enum'])) out['enum'] = [...out['enum'], null];
    } else {
      return { anyOf: [out, { type: 'null' }] };
    }
  }
  const discriminator = out['discriminator'];
  if (isSchema(discriminator)) {
    delete out['discriminator'];
    const mapping = child(discriminator, 'mapping');
    const property = discriminator['propertyName'];
    const branches = out['anyOf'] ?? out['oneOf'];
    if (typeof property === 'string' && Array.isArray(branches) && Object.keys(mapping).length > 0) {
      const byTarget = new Map<string, string[]>();
      for (const [value, target] of Object.entries(mapping)) {
        if (typeof target === 'string') byTarget.set(target, [...(byTarget.get(target) ?? []), value]);
      }
      let chain: Schema = { anyOf: branches };
      for (const [target, values] of [...byTarget].reverse()) {
        chain = { if: { properties: { [property]: { enum: values } }, required: [property] }, then: { $ref: target }, else: chain };
      }
      delete out['anyOf'];
      delete out['oneOf'];
      out['allOf'] = [...list(out['allOf']), chain];
    }
  }
  return out;
}

/** The body as DigitalOcean reads it: a `null` member is the same as a missing one (Go's JSON decoding). */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isSchema(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

function mapValues(value: Schema, fn: (v: unknown) => unknown): Schema {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fn(v)]));
}

/** Inlines local component refs so request-only rules (closing objects, dropping readOnly) can be applied. */
function inline(node: unknown, components: Schema, seen: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(node)) return node.map((n) => inline(n, components, seen));
  if (!isSchema(node)) return node;
  const ref = node['$ref'];
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const name = ref.slice('#/components/schemas/'.length);
    if (seen.has(name)) return { $ref: `${DOC_ID}${ref}` };
    return inline(components[name], components, new Set([...seen, name]));
  }
  return mapValues(node, (v) => inline(v, components, seen));
}

function isObjectLike(schema: unknown): boolean {
  if (!isSchema(schema)) return false;
  const type = schema['type'];
  if (type === 'object' || (Array.isArray(type) && type.includes('object')) || isSchema(schema['properties'])) return true;
  return ['allOf', 'anyOf', 'oneOf'].some((k) => list(schema[k]).some(isObjectLike)) || ['then', 'else'].some((k) => isObjectLike(schema[k]));
}

/**
 * Drops readOnly properties from `required` (the server fills those in) and, with `close`, closes every object a
 * client writes (`unevaluatedProperties: false` where an object starts, not on the branches that compose it).
 */
function forRequest(node: unknown, objectStart: boolean, close: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => forRequest(n, false, close));
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isSchema(value)) out[key] = mapValues(value, (v) => forRequest(v, true, close));
    else if (key === 'items' || key === 'additionalProperties') out[key] = forRequest(value, true, close);
    else out[key] = forRequest(value, false, close);
  }
  const properties = child(out, 'properties');
  if (Array.isArray(out['required'])) {
    out['required'] = out['required'].filter((name) => !(typeof name === 'string' && child(properties, name)['readOnly'] === true));
  }
  if (close && objectStart && isObjectLike(out) && !('additionalProperties' in out) && !('unevaluatedProperties' in out)) {
    out['unevaluatedProperties'] = false;
  }
  return out;
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath || '';
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'unevaluatedProperties' || error.keyword === 'additionalProperties') {
    const name = params['unevaluatedProperty'] ?? params['additionalProperty'];
    message = `has unknown field ${JSON.stringify(name)}`;
  } else if (error.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
    message = `must be one of ${params['allowedValues'].map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return where ? `${where} ${message}` : message;
}

const COMBINATORS = new Set(['anyOf', 'oneOf', 'allOf', 'if', 'not']);

/** The most telling error: the deepest one that is not just "a combinator failed". */
function pickError(errors: readonly ErrorObject[]): ErrorObject | undefined {
  const concrete = errors.filter((e) => !COMBINATORS.has(e.keyword));
  const pool = concrete.length > 0 ? concrete : errors;
  return pool.reduce<ErrorObject | undefined>((best, e) => (!best || e.instancePath.length > best.instancePath.length ? e : best), undefined);
}

function formatErrors(where: string, errors: readonly ErrorObject[] | null | undefined): string {
  const error = pickError(errors ?? []);
  return `${where}: ${error ? describeError(error) : 'is invalid'}`;
}

export class DigitalOceanSpec {
  readonly operations: readonly Operation[];
  private readonly validators = new Map<string, OperationValidators>();

  constructor(document: unknown = vendored) {
    const doc = toJsonSchema(document);
    if (!isSchema(doc)) throw new Error('the vendored DigitalOcean spec is not an object');
    const components = child(child(doc, 'components'), 'schemas');
    // The spec's patterns escape characters that need no escape (\:), which unicode mode rejects.
    const paramsAjv = new Ajv2019({ allErrors: true, strict: false, unicodeRegExp: false, coerceTypes: true, validateSchema: false });
    // Bodies are JSON and must be checked as sent; only path and query strings are coerced to the spec's types.
    const bodyAjv = new Ajv2019({ allErrors: true, strict: false, unicodeRegExp: false, validateSchema: false });
    for (const ajv of [paramsAjv, bodyAjv]) {
      addFormats(ajv);
      for (const format of ['float', 'double', 'int32', 'int64']) ajv.addFormat(format, true);
      ajv.addSchema({ $id: DOC_ID, components: { schemas: components } });
    }

    const operations: Operation[] = [];
    for (const [pathTemplate, item] of Object.entries(child(doc, 'paths'))) {
      if (!isSchema(item)) continue;
      for (const method of METHODS) {
        const op = item[method];
        if (!isSchema(op) || typeof op['operationId'] !== 'string') continue;
        const operationId = op['operationId'];
        const paramNames = [...pathTemplate.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] ?? '');
        const pattern = new RegExp(`^${pathTemplate.replace(/\{[^}]+\}/g, '([^/]+)')}/?$`);
        const responses = child(op, 'responses');
        operations.push({ operationId, method, pathTemplate, pattern, paramNames, responseStatuses: Object.keys(responses) });

        const parameters = list(op['parameters']).filter(isSchema);
        const paramSchema = (location: string): Schema => {
          const own = parameters.filter((p) => p['in'] === location);
          return {
            type: 'object',
            properties: Object.fromEntries(own.map((p) => [String(p['name']), inline(p['schema'] ?? {}, components)])),
            required: own.filter((p) => p['required'] === true).map((p) => String(p['name'])),
            additionalProperties: false,
          };
        };
        const requestBody = child(op, 'requestBody');
        const bodySchema = child(child(requestBody, 'content'), 'application/json')['schema'];
        const responseValidators = new Map<string, ValidateFunction | undefined>();
        for (const [status, response] of Object.entries(responses)) {
          const schema = isSchema(response) ? child(child(response, 'content'), 'application/json')['schema'] : undefined;
          responseValidators.set(status, isSchema(schema) ? bodyAjv.compile(withDocRefs(schema)) : undefined);
        }
        this.validators.set(operationId, {
          path: paramsAjv.compile(paramSchema('path')),
          query: paramsAjv.compile(paramSchema('query')),
          queryNames: new Set(parameters.filter((p) => p['in'] === 'query').map((p) => String(p['name']))),
          body: isSchema(bodySchema) ? bodyAjv.compile(forRequest(inline(bodySchema, components), true, false) as Schema) : undefined,
          closedBody: isSchema(bodySchema) ? bodyAjv.compile(forRequest(inline(bodySchema, components), true, true) as Schema) : undefined,
          bodyRequired: requestBody['required'] === true,
          responses: responseValidators,
        });
      }
    }
    // Literal segments win over parameters (/v2/droplets/actions before /v2/droplets/{droplet_id}).
    this.operations = operations.sort((a, b) => a.paramNames.length - b.paramNames.length);
  }

  /** The operation for a method and path, with its raw path parameters. */
  match(method: string, pathname: string): { readonly operation: Operation; readonly pathParams: Record<string, string> } | undefined {
    const lower = method.toLowerCase();
    for (const operation of this.operations) {
      if (operation.method !== lower) continue;
      const m = operation.pattern.exec(pathname);
      if (!m) continue;
      const pathParams = Object.fromEntries(operation.paramNames.map((name, i) => [name, decodeURIComponent(m[i + 1] ?? '')]));
      return { operation, pathParams };
    }
    return undefined;
  }

  /** Checks path, query and body; returns the parameters coerced to the spec's types. */
  validateRequest(operationId: string, parts: RequestParts): RequestCheck {
    const v = this.validators.get(operationId);
    if (!v) return { ok: false, message: `unknown operation ${operationId}` };
    const ignored: string[] = [];
    const pathParams: Record<string, unknown> = { ...parts.pathParams };
    if (!v.path(pathParams)) return { ok: false, message: formatErrors('path', v.path.errors) };
    const query: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(parts.query)) {
      if (v.queryNames.has(name)) query[name] = value;
      else ignored.push(`query parameter ${JSON.stringify(name)}`);
    }
    if (!v.query(query)) return { ok: false, message: formatErrors('query', v.query.errors) };
    let body: unknown;
    if (v.body) {
      body = parts.body === undefined ? undefined : withoutNulls(parts.body);
      if (body === undefined) {
        if (v.bodyRequired) return { ok: false, message: 'request body: is required (JSON)' };
      } else if (!v.body(body)) {
        return { ok: false, message: formatErrors('request body', v.body.errors) };
      } else if (v.closedBody && !v.closedBody(body)) {
        for (const e of v.closedBody.errors ?? []) {
          const params = e.params as Record<string, unknown>;
          const field = params['unevaluatedProperty'] ?? params['additionalProperty'];
          if (field !== undefined) ignored.push(`body field ${JSON.stringify(`${e.instancePath}/${String(field)}`)}`);
        }
      }
    } else if (parts.body !== undefined) {
      ignored.push('a request body (the operation takes none)');
    }
    return { ok: true, pathParams, query, body, ignored: [...new Set(ignored)] };
  }

  /** A description of what is wrong with a response body, or undefined when it matches the spec. */
  validateResponse(operationId: string, status: number, body: unknown): string | undefined {
    const v = this.validators.get(operationId);
    if (!v) return `unknown operation ${operationId}`;
    const key = v.responses.has(String(status)) ? String(status) : 'default';
    if (!v.responses.has(key)) return `status ${status} is not a documented response of ${operationId}`;
    const validate = v.responses.get(key);
    if (!validate) {
      return body === undefined ? undefined : `status ${status} of ${operationId} has no body in the spec`;
    }
    if (body === undefined) return `status ${status} of ${operationId} needs a JSON body`;
    return validate(body) ? undefined : formatErrors(`response ${status} body`, validate.errors);
  }
}

function withDocRefs(node: unknown): Schema {
  const rewrite = (n: unknown): unknown => {
    if (Array.isArray(n)) return n.map(rewrite);
    if (!isSchema(n)) return n;
    const ref = n['$ref'];
    if (typeof ref === 'string' && ref.startsWith('#/')) return { ...n, $ref: `${DOC_ID}${ref}` };
    return mapValues(n, rewrite);
  };
  return rewrite(node) as Schema;
}

let shared: DigitalOceanSpec | undefined;
/** The vendored spec, compiled once per process (compiling takes a moment). */
export function digitalOceanSpec(): DigitalOceanSpec {
  shared ??= new DigitalOceanSpec();
  return shared;
}
