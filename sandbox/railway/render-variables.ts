/** `${{NAME}}`, `${{shared.NAME}}`, `${{Service Name.NAME}}`, possibly mixed with literal text. */
const REFERENCE = /\$\{\{\s*([^{}]+?)\s*\}\}/g;
const MAX_DEPTH = 10;

/** Where references resolve: a namespace is `shared`, another service's name, or undefined for the service itself. */
export interface VariableScope {
  /** The raw (unrendered) value of a variable and the scope its own references resolve in. */
  lookup(namespace: string | undefined, name: string): { readonly raw: string; readonly scope: VariableScope } | undefined;
}

/** Renders every reference in `value`; unknown references render empty, as on Railway. */
export function renderValue(value: string, scope: VariableScope, depth = 0): string {
  if (depth > MAX_DEPTH) return '';
  return value.replace(REFERENCE, (_match, ref: string) => {
    const dot = ref.lastIndexOf('.');
    const namespace = dot === -1 ? undefined : ref.slice(0, dot).trim();
    const name = (dot === -1 ? ref : ref.slice(dot + 1)).trim();
    const found = scope.lookup(namespace, name);
    return found ? renderValue(found.raw, found.scope, depth + 1) : '';
  });
}

/** The names of other services (and `shared`) a raw value refers to, with the variable names. */
export function referencesOf(value: string): { readonly namespace: string | undefined; readonly name: string }[] {
  return [...value.matchAll(REFERENCE)].map((m) => {
    const ref = m[1] ?? '';
    const dot = ref.lastIndexOf('.');
    return dot === -1
      ? { namespace: undefined, name: ref.trim() }
      : { namespace: ref.slice(0, dot).trim(), name: ref.slice(dot + 1).trim() };
  });
}
