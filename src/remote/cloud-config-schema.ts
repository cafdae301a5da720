import Ajv from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import schema from '../../vendor/cloud-init/schema-cloud-config-v1.json';

export type CloudConfigValidation =
  | { readonly valid: true; readonly config: Record<string, unknown> }
  | { readonly valid: false; readonly errors: readonly string[] };

let validator: ReturnType<Ajv['compile']> | undefined;

function compile() {
  // cloud-init's schema uses its own keywords (deprecated, changed, …) for documentation; ajv must not reject them.
  if (validator) return validator;
  const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false });
  addFormats(ajv);
  validator = ajv.compile(schema);
  return validator;
}

/**
 * Validates `#cloud-config` user data the way cloud-init's own schema check does: the header, YAML syntax, and the
 * official JSON schema (vendored under vendor/cloud-init).
 */
export function validateCloudConfig(userData: string): CloudConfigValidation {
  if (!userData.startsWith('#cloud-config\n')) {
    return { valid: false, errors: ['user data must start with a "#cloud-config" line'] };
  }
  let config: unknown;
  try {
    config = parse(userData);
  } catch (err) {
    return { valid: false, errors: [`YAML: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return { valid: false, errors: ['cloud-config must be a YAML mapping'] };
  }
  const validate = compile();
  if (validate(config)) return { valid: true, config: config as Record<string, unknown> };
  const errors = (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'}: ${e.message ?? 'invalid'}`);
  return { valid: false, errors: [...new Set(errors)] };
}
