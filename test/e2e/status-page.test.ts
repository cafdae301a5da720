import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { loadConfig } from '../../src/config';
import { startController, type RunningController } from '../../src/controller';
import { resolveAdminToken } from '../../src/controller/admin-token';
import { SESSION_COOKIE, startControllerHttp, type ControllerHttp } from '../../src/controller/http-server';
import { freePort } from '../../src/controller/ports';
import { controllerProviders, createHealthProvider, createStatusProvider, lateProviders, type StatusReport } from '../../src/controller/probes';
import { CONDITION_TYPES } from '../../src/shared/heal-policy';
import type { InstallationStatus } from '../../src/shared/lifecycle';
import { startWorld, type World } from '../helpers/installation';
import { configureUpdate } from '../../src/shared/installation-messages';
import { deployAndAdopt, healNow, installationHandle, status } from '../helpers/lifecycle';
import { assertNoSecrets, secretValues } from '../helpers/secrets';
import { workflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');
/** Kept after the run (gitignored): what the signed-in page looked like. */
const ARTIFACTS = join(ROOT, '.data', 'test-artifacts');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ID = 'page';

/**
 * The controller's HTTP side on a real controller: startController (its own worker and client) against a real
 * Temporal server and the sandbox, an installation deployed and checked by heal, the server on a real port, and the
 * page in a real headless Chromium.
 */
describe('the controller HTTP server: /healthz, /status and the status page', () => {
  let world: World;
  let controller: RunningController;
  let http: ControllerHttp;
  let adminToken: string;
  let deployed: InstallationStatus;
  const logs: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'trigger-ops-http-'));

  before(async () => {
    const codecKey = randomBytes(32);
    world = await startWorld({ codecKey });
    const bundlePath = join(dir, 'workflow-bundle.js');
    writeFileSync(bundlePath, (await workflowBundle()).code);
    const config = loadConfig({
      ...world.sandbox.env,
      TEMPORAL_ADDRESS: world.temporal.address,
      TEMPORAL_TASK_QUEUE: world.temporal.taskQueue,
      TRIGGER_OPS_CODEC_KEY: codecKey.toString('base64'),
      TRIGGER_OPS_DATA_DIR: world.dataDir,
      TRIGGER_OPS_WORKFLOW_BUNDLE: bundlePath,
    });
    controller = await startController(config, (m) => logs.push(m));
    const bootLog: string[] = [];
    adminToken = resolveAdminToken(config, (m) => bootLog.push(m)).token;
    assert.equal(bootLog.length, 1);
    assert.ok(bootLog[0]?.includes(adminToken), 'the generated token is shown once, at first boot');
    await deployAndAdopt(world, ID);
    await healNow(world, ID);
    deployed = await status(world, ID);
    http = await startControllerHttp({ port: 0, host: '127.0.0.1', adminToken, ...controllerProviders(controller, ID, { config }), log: (m) => logs.push(m) });
  });

  after(async () => {
    await http?.close();
    await controller?.stop();
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${http.url}${path}`, { headers, redirect: 'manual' });

  it('/healthz answers 200 without a token while the worker polls and Temporal answers', async () => {
    const res = await waitFor('a healthy /healthz', async () => {
      const r = await get('/healthz');
      return r.status === 200 ? r : undefined;
    }, 10_000, 100);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'ok');
    assert.match(body.reason, new RegExp(`polls task queue "${world.temporal.taskQueue}"`));
  });

  it('/status refuses a missing or wrong Bearer token with 401 JSON, and answers the installation status with the right one', async () => {
    for (const headers of [{}, { Authorization: 'Bearer not-the-admin-token-at-all' }, { Authorization: `Basic ${adminToken}` }, { Cookie: `${SESSION_COOKIE}=${adminToken}` }]) {
      const res = await get('/status', headers);
      assert.equal(res.status, 401, JSON.stringify(Object.keys(headers)));
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body['error'], 'unauthorized');
      assert.match(String(body['message']), /Authorization: Bearer/);
      assert.equal(body['status'], undefined, 'no status without the token');
    }
    const res = await get('/status', { Authorization: `Bearer ${adminToken}` });
    assert.equal(res.status, 200);
    const text = await res.text();
    const body = JSON.parse(text) as StatusReport & { problems: unknown[] };
    assert.equal(body.installationId, ID);
    assert.equal(body.unavailable, null);
    assert.equal(body.status?.desired?.droplet.name, deployed.desired?.droplet.name);
    assert.deepEqual(body.status?.conditions.map((c) => [c.type, c.status]), CONDITION_TYPES.map((t) => [t, 'True']));
    assert.deepEqual(body.problems, []);
    assert.equal(body.webappVersion, deployed.desired?.supervisorVersion, 'the webapp runs the version the supervisor was deployed with');
    assertNoSecrets(text, secretValues(world, [adminToken]), 'the /status body');
  });

  it('/status says why when there is no installation entity yet (503, not-deployed)', async () => {
    const other = await startControllerHttp({ port: 0, host: '127.0.0.1', adminToken, ...controllerProviders(controller, 'nothing-here'), log: () => undefined });
    try {
      const res = await fetch(`${other.url}/status`, { headers: { Authorization: `Bearer ${adminToken}` } });
      assert.equal(res.status, 503);
      const body = (await res.json()) as StatusReport & { problems: Array<{ title: string; todo: string }> };
      assert.equal(body.status, null);
      assert.equal(body.unavailable?.kind, 'not-deployed');
      assert.match(body.unavailable?.message ?? '', /installation:nothing-here/);
      assert.match(body.problems[0]?.todo ?? '', /trigger-ops deploy -i nothing-here/);
    } finally {
      await other.close();
    }
  });

  it('takes no token from a URL, refuses a sign-in posted from another site, and answers clearly what it does not serve', async () => {
    const inUrl = await get(`/status?token=${encodeURIComponent(adminToken)}`);
    assert.equal(inUrl.status, 401);
    const page = await (await get(`/?token=${encodeURIComponent(adminToken)}`)).text();
    assert.match(page, /id="login"/, 'a token in the URL signs nobody in');
    const form = (origin: string, contentType = 'application/x-www-form-urlencoded') =>
      fetch(`${http.url}/login`, { method: 'POST', redirect: 'manual', headers: { Origin: origin, 'Content-Type': contentType }, body: `token=${encodeURIComponent(adminToken)}` });
    const crossSite = await form('https://evil.example');
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.headers.get('set-cookie'), null);
    const notAForm = await form(http.url, 'application/json');
    assert.equal(notAForm.status, 400);
    assert.match(await notAForm.text(), /application\/x-www-form-urlencoded/);
    const signedIn = await form(http.url);
    assert.equal(signedIn.status, 303);
    assert.match(signedIn.headers.get('set-cookie') ?? '', new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; Max-Age=\\d+; HttpOnly; SameSite=Strict$`));
    assert.equal((await get('/nowhere')).status, 404);
    const wrongMethod = await fetch(`${http.url}/status`, { method: 'DELETE', headers: { Authorization: `Bearer ${adminToken}` } });
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'GET');
    const html = await get('/');
    assert.match(html.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(html.headers.get('cache-control'), 'no-store');
  });

  it('answers from before the controller runs: starting, then why it could not start, then the controller\'s own health', async () => {
    const late = lateProviders(ID);
    const early = await startControllerHttp({ port: 0, host: '127.0.0.1', adminToken, health: late.health, status: late.status, log: () => undefined });
    try {
      const read = async (path: string) => {
        const res = await fetch(`${early.url}${path}`, { headers: { Authorization: `Bearer ${adminToken}` } });
        return { code: res.status, body: (await res.json()) as { reason?: string; unavailable?: { kind: string; message: string } } };
      };
      assert.deepEqual(await read('/healthz'), { code: 503, body: { status: 'unhealthy', reason: 'the controller is starting (Temporal server, worker)' } });
      late.fail('Cannot reach the Temporal server at 10.0.0.1:7233');
      const failed = await read('/status');
      assert.equal(failed.code, 503);
      assert.deepEqual(failed.body.unavailable, { kind: 'not-started', message: 'the controller could not start: Cannot reach the Temporal server at 10.0.0.1:7233' });
      late.attach(controllerProviders(controller, ID));
      assert.equal((await read('/healthz')).code, 200);
      assert.equal((await read('/status')).code, 200);
    } finally {
      await early.close();
    }
  });

  it('ends a session when its time is up', async () => {
    const short = await startControllerHttp({ port: 0, host: '127.0.0.1', adminToken, ...controllerProviders(controller, ID), log: () => undefined, sessionTtlSeconds: 1 });
    try {
      const signIn = await fetch(`${short.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(adminToken)}` });
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      const page = () => fetch(`${short.url}/`, { headers: { Cookie: cookie } }).then((r) => r.text());
      assert.match(await page(), /id="conditions"/, 'signed in');
      await sleep(1_100);
      assert.doesNotMatch(await page(), /id="conditions"/, 'the session has expired');
    } finally {
      await short.close();
    }
  });

  it('says "Temporal does not answer" in /healthz and /status when Temporal is unreachable', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const client = new Client({ connection: Connection.lazy({ address: nobody }) });
    const health = await createHealthProvider({ client, worker: controller.worker, address: nobody, timeoutMs: 500 })();
    assert.equal(health.healthy, false);
    assert.match(health.reason, new RegExp(`^Temporal at ${nobody} does not answer`));
    const report = await createStatusProvider({ client, installationId: ID, timeoutMs: 500 })();
    assert.equal(report.status, null);
    assert.equal(report.unavailable?.kind, 'temporal-unreachable');
    await client.connection.close().catch(() => undefined);
  });

  describe('in headless Chromium', () => {
    let browser: Browser;

    before(async () => {
      assert.ok(existsSync(CHROMIUM), `Chromium is needed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
      browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        // Chromium refuses its sandbox to root; as any other user it keeps it.
        args: process.getuid?.() === 0 ? ['--no-sandbox'] : [],
      });
    });

    after(async () => {
      await browser?.close();
    });

    async function signIn(page: Page, url = http.url): Promise<void> {
      await page.goto(`${url}/`);
      await page.type('#token', adminToken);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    }

    it('shows only a login form without the token, refuses a wrong one, shows the status with the right one, and signs out', async () => {
      const page = await browser.newPage();
      const droplet = deployed.desired?.droplet.name ?? assert.fail('deployed without a droplet');
      const version = deployed.desired?.supervisorVersion ?? assert.fail('deployed without a version');

      await page.goto(`${http.url}/`);
      assert.ok(await page.$('form#login input[type=password][name=token]'), 'the login form is shown');
      let html = await page.content();
      for (const shown of [droplet, 'DropletActive', 'SupervisorConnected', version]) assert.ok(!html.includes(shown), `"${shown}" is in the DOM before signing in`);
      assert.equal(await page.$('#conditions'), null);

      await page.type('#token', 'a-wrong-token-of-enough-length');
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      assert.match(await page.$eval('#login-error', (e) => e.textContent ?? ''), /not the admin token/);
      html = await page.content();
      assert.ok(!html.includes(droplet), 'a wrong token shows no status');
      assert.equal((await browser.cookies()).filter((c) => c.name === SESSION_COOKIE).length, 0, 'a wrong token gets no session');

      await page.type('#token', adminToken);
      await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
      assert.equal(page.url(), `${http.url}/`, 'no token in the URL');
      assert.equal(await page.$eval('#state', (e) => e.textContent), 'healthy');
      const conditions = await page.$$eval('#conditions tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(0, 2).map((td) => td.textContent)));
      assert.deepEqual(conditions, CONDITION_TYPES.map((t) => [t, 'True']));
      assert.equal(await page.$eval('#droplet tbody tr td', (e) => e.textContent), droplet);
      const versions = await page.$$eval('#versions tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
      assert.deepEqual(versions, [['supervisor', version, version], ['webapp', '—', version]], 'the webapp\'s version is read from Railway');
      const recent = await page.$$eval('#recent tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      const adopt = recent.find((r) => r[0] === 'deploy' || r[0] === 'adopt');
      assert.ok(adopt, `the deploy is among the recent operations: ${JSON.stringify(recent)}`);
      assert.equal(adopt[1], 'succeeded');
      assert.match(adopt[4] ?? '', /^\d+(\.\d)? (ms|s)$|min/, 'each operation shows its duration');
      assert.equal(await page.$eval('#problems', (e) => e.textContent), 'Nothing needs you.');

      const session = (await browser.cookies()).find((c) => c.name === SESSION_COOKIE) ?? assert.fail('no session cookie');
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Strict');
      assert.notEqual(session.value, adminToken, 'the cookie holds a session, not the token');
      assert.equal(await page.evaluate('document.cookie'), '', 'scripts cannot read the session');
      const secrets = secretValues(world, [adminToken, session.value]);
      assertNoSecrets(await page.content(), secrets, 'the status page DOM');

      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, 'status-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000, 'the screenshot holds a rendered page');

      await Promise.all([page.waitForNavigation(), page.click('#logout')]);
      assert.ok(await page.$('form#login'), 'signed out: the login form again');
      const replayed = await get('/', { Cookie: `${SESSION_COOKIE}=${session.value}` });
      assert.ok(!(await replayed.text()).includes(droplet), 'the session ends with sign-out, even for a copy of the cookie');
      await page.close();
      assertNoSecrets(logs.join('\n'), secrets, 'the controller log');
    });

    it('lists what needs a person: a False condition with what to do, heal backing off at its cap, a configuration error (escaped)', async () => {
      const dropletId = deployed.desired?.droplet.id ?? assert.fail('deployed without a droplet');
      await installationHandle(world, ID).executeUpdate(configureUpdate, { args: [{ repairCapPerHour: 1, repairBackoffSeconds: 600 }] });
      world.sandbox.droplets.faults.fullDisk(dropletId, true);
      await healNow(world, ID);
      const hostile = 'TRIGGER_OPS_REGION: "<script>document.title=1</script>" is not a region; accepted: nyc3, sfo3';
      const other = await startControllerHttp({
        port: 0,
        host: '127.0.0.1',
        adminToken,
        ...controllerProviders(controller, ID, { configurationError: () => hostile }),
        log: () => undefined,
      });
      const page = await browser.newPage();
      try {
        await signIn(page, other.url);
        assert.equal(await page.$eval('#state', (e) => e.textContent), 'NOT healthy');
        const problems = await page.$$eval('#problems li', (items) => items.map((li) => li.textContent ?? ''));
        assert.match(problems[0] ?? '', /configuration is wrong/);
        assert.ok(problems[0]?.includes(hostile), 'the configuration error is shown as text');
        assert.equal(await page.$('#problems script'), null, 'nothing from a message runs or becomes markup');
        const disk = problems.find((p) => p.startsWith('DiskHasRoom is False (DiskShort)'));
        assert.ok(disk, JSON.stringify(problems));
        assert.match(disk, /What to do: Heal prunes unused images.*trigger-ops migrate -i page --size/);
        assert.ok(problems.some((p) => /^Heal is backing off/.test(p)), JSON.stringify(problems));
        assert.ok(problems.some((p) => /^Heal reached its repair cap: 1 repairs in the last hour \(cap 1\)/.test(p)), JSON.stringify(problems));
        const diskRow = await page.$$eval('#conditions tbody tr', (rows) =>
          rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)).find((cells) => cells[0] === 'DiskHasRoom'));
        assert.deepEqual(diskRow?.slice(0, 3), ['DiskHasRoom', 'False', 'DiskShort']);
        await page.screenshot({ path: join(ARTIFACTS, 'status-page-needs-a-person.png'), fullPage: true });
        const res = await fetch(`${other.url}/status`, { headers: { Authorization: `Bearer ${adminToken}` } });
        const body = (await res.json()) as { configurationError: string; problems: Array<{ title: string }> };
        assert.equal(body.configurationError, hostile);
        assert.ok(body.problems.some((p) => p.title === 'DiskHasRoom is False (DiskShort)'));
      } finally {
        await page.close();
        await other.close();
        world.sandbox.droplets.faults.fullDisk(dropletId, false);
      }
    });
  });

  it('/healthz turns 503 with the reason once the worker has stopped, and the status says no worker answers', async () => {
    controller.worker.shutdown();
    await controller.running;
    const res = await get('/healthz');
    assert.equal(res.status, 503);
    const body = (await res.json()) as { status: string; reason: string };
    assert.equal(body.status, 'unhealthy');
    assert.match(body.reason, /the worker is STOPPED, not RUNNING: nothing polls task queue/);
    const report = await createStatusProvider({ client: controller.client, installationId: ID, timeoutMs: 1_000 })();
    assert.equal(report.unavailable?.kind, 'no-answer', JSON.stringify(report.unavailable));
    assert.match(report.unavailable?.message ?? '', /^no worker answered the status query of installation:page .*is the controller's worker running\?$/);
  });
});
