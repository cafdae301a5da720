import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TASK_QUEUE, workflowIds } from '../../src/shared/ids';
import { INSTALLATION_MESSAGE_NAMES, WORKFLOW_TYPES } from '../../src/shared/installation-messages';
import * as workflows from '../../src/workflows';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
const recipes = (readme.split('<!-- temporal-recipes:start -->')[1]?.split('<!-- temporal-recipes:end -->')[0] ?? '')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l.startsWith('temporal ') || l.startsWith('# '));

const flag = (line: string, name: string) => new RegExp(`--${name}[ =]([A-Za-z0-9:_-]+)`).exec(line)?.[1];

describe('the README Temporal CLI recipes use the names the code defines (src/shared/installation-messages.ts)', () => {
  it('every workflow type, message name, workflow id and task queue in a recipe exists', () => {
    const all = [...INSTALLATION_MESSAGE_NAMES.signals, ...INSTALLATION_MESSAGE_NAMES.updates, ...INSTALLATION_MESSAGE_NAMES.queries];
    assert.ok(recipes.length >= 7, 'the recipes block is there');
    for (const line of recipes) {
      const type = flag(line, 'type');
      if (type) assert.ok((Object.values(WORKFLOW_TYPES) as string[]).includes(type), `${line}: no workflow type "${type}"`);
      const name = flag(line, 'name');
      if (name) assert.ok(all.includes(name), `${line}: "${name}" is not a signal, update or query of the installation`);
      const queue = flag(line, 'task-queue');
      if (queue) assert.equal(queue, TASK_QUEUE);
      const id = flag(line, 'workflow-id') ?? flag(line, 'schedule-id');
      if (id) {
        const [kind, installationId = ''] = id.split(':');
        const ids: Record<string, (i: string) => string> = workflowIds;
        assert.ok(kind && ids[kind === 'heal' ? 'healSchedule' : kind]?.(installationId) === id, `${line}: "${id}" is not a documented id`);
      }
    }
  });

  it('every workflow type it names is exported by the workflow bundle under that name', () => {
    for (const type of Object.values(WORKFLOW_TYPES)) assert.equal(typeof (workflows as Record<string, unknown>)[type], 'function', type);
  });
});
