import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chaosPassed, runChaos } from '../../scripts/chaos';

/**
 * The CI-sized chaos run (`npm run chaos -- --quick`): one round of every scenario, each with the worker SIGKILLed at
 * a random moment (the seed is printed, so a failure replays with `npm run chaos -- --quick --seed N`).
 */
describe('chaos, quick', () => {
  it('every run converges; nothing orphaned, duplicated or leaked', async () => {
    const seed = Math.floor(Math.random() * 100_000);
    const report = await runChaos({ rounds: 1, seed, minutes: 10 });
    const failed = report.scenarios.filter((s) => !s.converged || s.orphans.length > 0 || s.duplicates.length > 0);
    assert.deepEqual(failed, [], `seed ${seed}`);
    assert.equal(report.runs, 8, `seed ${seed}: ${JSON.stringify(report.scenarios.map((s) => s.scenario))}`);
    assert.ok(report.kills >= 5, `seed ${seed}: only ${report.kills} kills`);
    assert.equal(report.server_restarts, 1);
    assert.deepEqual(report.secret_places, [], `seed ${seed}`);
    assert.ok(report.secrets_checked >= 5 && report.places_scanned >= 10, `the scan looked for ${report.secrets_checked} secrets in ${report.places_scanned} places`);
    assert.ok(chaosPassed(report));
  });
});
