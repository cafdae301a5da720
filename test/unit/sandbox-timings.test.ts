import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createTimings, parseTimingProfile, TIMING_NAMES, TIMING_PROFILES, TIMING_TABLE } from '../../sandbox/timings';

describe('the sandbox timing table', () => {
  it('draws every realistic duration inside its range, with jitter', () => {
    const timings = createTimings({ profile: 'realistic', seed: 7 });
    for (const name of TIMING_NAMES) {
      const [min, max] = TIMING_TABLE[name].realistic;
      const draws = Array.from({ length: 200 }, () => timings.draw(name));
      assert.ok(draws.every((ms) => Number.isInteger(ms) && ms >= min && ms <= max), `${name}: ${Math.min(...draws)}..${Math.max(...draws)} not in ${min}..${max}`);
      if (min < max) assert.ok(new Set(draws).size > 50, `${name} is not jittered`);
    }
  });

  it('has the real-world ranges of the issue', () => {
    const s = (name: keyof typeof TIMING_TABLE) => TIMING_TABLE[name].realistic.map((ms) => ms / 1000);
    assert.deepEqual(s('dropletCreate'), [30, 60]);
    assert.deepEqual(s('cloudInit'), [60, 180]);
    assert.deepEqual(s('imagePull'), [20, 90]);
    assert.deepEqual(s('supervisorConnect'), [3, 10]);
    assert.deepEqual(s('dropletAction'), [10, 30]);
    assert.deepEqual(s('railwayRedeploy'), [60, 300]);
  });

  it('is reproducible with a seed', () => {
    const a = createTimings({ profile: 'realistic', seed: 42 });
    const b = createTimings({ profile: 'realistic', seed: 42 });
    assert.deepEqual(TIMING_NAMES.map((n) => a.draw(n)), TIMING_NAMES.map((n) => b.draw(n)));
  });

  it('forces one duration: from the start, at run time, for a number of draws, until released', () => {
    const timings = createTimings({ profile: 'realistic', force: { imagePull: 90_000 } });
    assert.equal(timings.draw('imagePull'), 90_000);
    assert.equal(timings.draw('imagePull'), 90_000);
    timings.release('imagePull');
    assert.ok(timings.draw('imagePull') <= 90_000);

    timings.force('supervisorConnect', 12_345, { times: 1 });
    assert.deepEqual(timings.range('supervisorConnect'), [12_345, 12_345]);
    assert.equal(timings.draw('supervisorConnect'), 12_345);
    assert.ok(timings.draw('supervisorConnect') <= 10_000, 'a force for one draw applies once');

    const undo = timings.force('dropletCreate', 1);
    assert.equal(timings.draw('dropletCreate'), 1);
    undo();
    assert.ok(timings.draw('dropletCreate') >= 30_000);

    assert.throws(() => timings.force('imagePull', -1), /milliseconds/);
    assert.throws(() => createTimings({ force: { nope: 1 } as never }), /unknown sandbox timing "nope"; known: dropletCreate/);
  });

  it('stays fast unless asked: fast is what tests use, default is quick too, realistic only on request', () => {
    for (const name of TIMING_NAMES) {
      assert.ok(TIMING_TABLE[name].fast[1] <= 500, `fast ${name}`);
      assert.ok(TIMING_TABLE[name].default[1] <= 5_000, `default ${name}`);
    }
    assert.equal(createTimings('fast').pollIntervalMs, 250);
    assert.equal(createTimings({}).profile, 'default');
    assert.ok(createTimings('realistic').pollIntervalMs >= 2_000, 'inside DigitalOcean 250/min with real-world waits');
  });

  it('rejects an unknown profile, naming the accepted values', () => {
    assert.equal(parseTimingProfile('realistic'), 'realistic');
    assert.throws(() => parseTimingProfile('slow', '--timings'), /--timings must be one of fast, default, realistic; got "slow"/);
    assert.throws(() => createTimings('slow' as never), /fast, default, realistic/);
  });

  it('is documented: docs/sandbox-timings.md lists every duration with its realistic range', () => {
    const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'sandbox-timings.md'), 'utf8');
    const seconds = (ms: number) => String(ms / 1000);
    for (const name of TIMING_NAMES) {
      const [min, max] = TIMING_TABLE[name].realistic;
      const range = min === max ? `${seconds(min)} s` : `${seconds(min)}–${seconds(max)} s`;
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\``));
      assert.ok(row, `no row for ${name}`);
      assert.ok(row.includes(range), `${name}: the row does not say ${range}: ${row}`);
    }
    for (const profile of TIMING_PROFILES) assert.ok(doc.includes(`\`${profile}\``), profile);
  });
});
