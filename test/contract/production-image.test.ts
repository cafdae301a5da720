// What the production image holds, without a Docker engine: the Dockerfile's COPY lines and .dockerignore keep the
// sandbox (and the tests) out, and every module the image's entry points load, followed import by import from
// bin/trigger-ops.js, the workflow bundle's build and the healthcheck, is a file the image copies and none is in
// sandbox/. The product reaches the sandbox through one door only, src/controller/sandbox.ts, loaded on demand.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';

const root = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
const instructions = read('Dockerfile')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = instructions.reduce<string[][]>((all, l) => (l.startsWith('FROM ') ? [...all, [l]] : (all.at(-1)?.push(l), all)), []);
/** Sources of the COPY lines (not --from=) of one stage. */
const copied = (stage: readonly string[]) =>
  stage
    .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
    .flatMap((l) => l.split(/\s+/).slice(1, -1).filter((a) => !a.startsWith('--')));
const runtimeSources = copied(stages.at(-1) ?? []);
const inImage = (file: string) => runtimeSources.some((src) => file === src || file.startsWith(`${src.replace(/\/$/, '')}/`));

/** The modules a file loads when it runs: imports and re-exports that are not type-only, and top-level require(). */
function runtimeSpecifiers(file: string): { spec: string; lazy: boolean }[] {
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.ES2022, true);
  const found: { spec: string; lazy: boolean }[] = [];
  const visit = (node: ts.Node, depth: number) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) {
      const named = node.importClause?.namedBindings;
      const allTypes = !node.importClause?.name && named && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((e) => e.isTypeOnly);
      if (!allTypes) found.push({ spec: node.moduleSpecifier.text, lazy: false });
    } else if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, lazy: false });
    } else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'require') {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) found.push({ spec: arg.text, lazy: depth > 0 });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteral(arg)) found.push({ spec: arg.text, lazy: true });
    }
    const inner = ts.isFunctionLike(node) ? depth + 1 : depth;
    ts.forEachChild(node, (child) => visit(child, inner));
  };
  visit(source, 0);
  return found;
}

/** A relative specifier as the repository file it loads (.ts, .js, .json or a folder's index.ts). */
function resolveLocal(from: string, spec: string): string {
  const base = join(dirname(join(root, from)), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return relative(root, candidate).split(sep).join('/');
  }
  throw new Error(`${from}: cannot resolve "${spec}"`);
}

/** Every repository file the entries load at start, following only eager local imports. */
function eagerClosure(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.(ts|js)$/.test(file)) continue;
    for (const { spec, lazy } of runtimeSpecifiers(file)) {
      if (!lazy && spec.startsWith('.')) queue.push(resolveLocal(file, spec));
    }
  }
  return seen;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

// The image's processes: the CLI (CMD controller), the healthcheck, and the build stage's workflow bundle.
const ENTRIES = ['bin/trigger-ops.js', 'scripts/worker-healthcheck.ts', 'scripts/bundle-workflows.ts', 'src/workflows/index.ts'];

describe('the production image', () => {
  it('copies neither the sandbox nor the tests, and .dockerignore keeps them out of the build context', () => {
    const all = stages.flatMap(copied);
    for (const src of all) assert.ok(!/^(\.\/?|sandbox|test|docs)(\/|$)/.test(src), `COPY ${src}`);
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['sandbox', 'test']) assert.ok(ignored.includes(entry), `.dockerignore lists ${entry}`);
  });

  it('holds every module its entry points load, and none of them is in sandbox/', () => {
    const loaded = [...eagerClosure(ENTRIES)];
    assert.ok(loaded.includes('src/worker.ts') && loaded.includes('src/controller/index.ts'), 'the walk reaches the worker');
    const runtimeLoaded = loaded.filter((f) => f !== 'scripts/bundle-workflows.ts');
    assert.deepEqual(runtimeLoaded.filter((f) => !inImage(f)), [], 'loaded by the image but not copied into it');
    assert.deepEqual(loaded.filter((f) => f.startsWith('sandbox/')), [], 'the production entry points reach the sandbox');
  });

  it('reaches the sandbox through one door, loaded only when called', () => {
    const doors = filesUnder('src').flatMap((file) =>
      runtimeSpecifiers(file)
        .filter(({ spec }) => spec.startsWith('.') && resolveLocal(file, spec).startsWith('sandbox/'))
        .map(({ lazy }) => ({ file, lazy })),
    );
    assert.deepEqual(doors, [{ file: 'src/controller/sandbox.ts', lazy: true }]);
  });

  it('notices an eager import of the sandbox (the walk is not blind)', () => {
    // The door itself, walked as if its require() were at the top: it reaches sandbox/.
    const eager = runtimeSpecifiers('src/controller/sandbox.ts').map((s) => resolveLocal('src/controller/sandbox.ts', s.spec));
    assert.ok(eager.some((f) => f.startsWith('sandbox/')));
    assert.ok([...eagerClosure(['sandbox/index.ts'])].some((f) => f.startsWith('src/')), 'the sandbox itself loads product modules');
  });
});
