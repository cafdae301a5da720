import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { SMTPServer } from 'smtp-server';
import { SERVICE_NAMES } from '../../sandbox/railway';
import { createSealer, type Sealer } from '../../src/codec/sealed-value';
import type { ConfigureEmailResult, LinksResult, LoginResult } from '../../src/shared/email';
import { configureEmail, links, login } from '../../src/workflows';
import { startWorld, type World } from '../helpers/installation';
import { decodedHistory, linkValues } from '../helpers/secrets';
import { TEST_CODEC_KEY } from '../helpers/temporal';
import { freePort } from '../helpers/ports';
import { spawnCli } from '../helpers/processes';
import { waitFor } from '../helpers/wait';

/** A message the local SMTP server accepted. */
interface Received {
  readonly from: string;
  readonly to: readonly string[];
  readonly user: string | undefined;
  readonly data: string;
}

const SMTP_USER = 'trigger-mailer';
const SMTP_PASSWORD = 'smtp-pw-4f1b9c2e7d';
const VERIFY_TO = 'ops@example.com';

/**
 * First login and email on the sandbox, on a real Temporal server: the magic link found in the webapp's Railway
 * log, `email set smtp` against a real SMTP server (smtp-server, AUTH required) that must receive the
 * verification email, refused settings that change nothing, a failed redeploy that puts the old settings back,
 * and no magic link or SMTP password in any history.
 */
describe('login and email (sandbox webapp, real SMTP server)', () => {
  let world: World;
  let smtp: SMTPServer;
  let smtpPort: number;
  let sealer: Sealer;
  const received: Received[] = [];
  const workflowIds: string[] = [];
  let seq = 0;

  const execute = async <R>(fn: typeof login | typeof links | typeof configureEmail, kind: string, input: unknown): Promise<R> => {
    const workflowId = `${kind}:mail-${++seq}`;
    workflowIds.push(workflowId);
    return (await world.temporal.client.workflow.execute(fn as never, { taskQueue: world.temporal.taskQueue, workflowId, args: [input] as never })) as R;
  };
  const webappVariables = () => world.sandbox.railway.inspect().variables[SERVICE_NAMES.webapp] ?? {};
  const emailVariables = () => Object.fromEntries(Object.entries(webappVariables()).filter(([n]) => /^(EMAIL_|FROM_EMAIL|REPLY_TO|SMTP_|RESEND_|AWS_)/.test(n)));
  const smtpSettings = (extra: Record<string, unknown> = {}) => ({
    transport: 'smtp' as const,
    FROM_EMAIL: 'login@example.com',
    REPLY_TO_EMAIL: VERIFY_TO,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: smtpPort,
    SMTP_SECURE: false,
    SMTP_USER,
    SMTP_PASSWORD: sealer.seal(SMTP_PASSWORD),
    ...extra,
  });
  const failure = async (promise: Promise<unknown>): Promise<ApplicationFailure> => {
    const err = await promise.then(
      () => assert.fail('expected the workflow to fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, `expected WorkflowFailedError, got ${String(err)}`);
    assert.ok(err.cause instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err.cause)}`);
    return err.cause;
  };

  before(async () => {
    smtpPort = await freePort();
    smtp = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth(auth, _session, callback) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) return callback(null, { user: auth.username });
        return callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            user: typeof session.user === 'string' ? session.user : undefined,
            data: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
    world = await startWorld({ codecKey: TEST_CODEC_KEY, env: { TRIGGER_OPS_POLL_INTERVAL_MS: '100' } });
    sealer = createSealer(TEST_CODEC_KEY);
    await world.startWorker();
  });

  after(async () => {
    await world?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('login finds a working magic link in the webapp log within seconds', async () => {
    const started = Date.now();
    const r = await execute<LoginResult>(login, 'login', { installationId: 'mail', email: 'You@Example.com' });
    assert.ok(Date.now() - started < 10_000, `login took ${Date.now() - started} ms`);
    assert.equal(r.sentByEmail, false);
    assert.equal(r.transport, 'console');
    assert.ok(r.link?.sealedUrl, 'a sealed link');
    const url = sealer.unseal(r.link.sealedUrl);
    assert.match(url, new RegExp(`^${world.sandbox.webapp.url}/magic\\?token=[A-Za-z0-9_-]{20,}$`));
    assert.equal(r.link.to, 'you@example.com');
    assert.ok(r.link.expiresAt && Date.parse(r.link.expiresAt) > Date.now());
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
    assert.deepEqual(world.sandbox.webapp.logins(), ['you@example.com']);
  });

  it('links lists every printed link and marks the superseded one, paging back through a long log', async () => {
    const { store, environmentId, serviceIds } = world.sandbox.railway;
    const running = store.activeDeployment(environmentId, serviceIds.webapp);
    assert.ok(running);
    // More than two pages of ordinary output after the first link: it is still found, by paging back in time.
    // (Spread over time as a real log is: Railway's timestamps are finer than the stand-in's milliseconds.)
    for (let i = 0; i < 2500; i++) {
      store.appendLog(running.id, `GET /api/v1/runs ${i} 200`);
      if (i % 100 === 99) await sleep(3);
    }
    await execute<LoginResult>(login, 'login', { installationId: 'mail', email: 'second@example.com' });
    await execute<LoginResult>(login, 'login', { installationId: 'mail', email: 'second@example.com' });
    const r = await execute<LinksResult>(links, 'links', { installationId: 'mail' });
    const second = r.emails.filter((e) => e.to === 'second@example.com');
    assert.deepEqual(second.map((e) => [e.kind, e.superseded, e.expired]), [['magic-link', true, false], ['magic-link', false, false]]);
    assert.equal(r.emails.filter((e) => e.to === 'you@example.com').length, 1);
    const [older, newer] = second.map((e) => sealer.unseal(e.sealedUrl ?? ''));
    assert.equal((await fetch(older ?? '', { redirect: 'manual' })).headers.get('location'), '/login/magic', 'a superseded link does not log in');
    assert.equal((await fetch(newer ?? '', { redirect: 'manual' })).headers.get('location'), '/');
  });

  it('links --follow prints a new link as it appears, once, and stops on Ctrl-C', async () => {
    const follow = spawnCli(['links', '-i', 'mail', '--follow', '--json', '--interval', '1'], cliEnv(world));
    try {
      const lines = () => follow.stdout().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { to: string; url: string | null; superseded: boolean });
      await waitFor('the links already printed', () => (lines().some((l) => l.to === 'second@example.com') ? true : undefined), 20_000, 100);
      await execute<LoginResult>(login, 'login', { installationId: 'mail', email: 'follow@example.com' });
      const found = await waitFor('the new link', () => lines().find((l) => l.to === 'follow@example.com'), 20_000, 100);
      assert.match(found.url ?? '', /\/magic\?token=/);
      await sleep(1500);
      assert.equal(lines().filter((l) => l.to === 'follow@example.com').length, 1, 'each link is printed once');
    } finally {
      follow.child.kill('SIGINT');
    }
    assert.equal(await follow.exited, 0, follow.output());
  });

  it('a bad port, a bad address or a missing password is refused by name and changes nothing', async () => {
    const before = webappVariables();
    const deployments = world.sandbox.railway.inspect().deployments.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [smtpSettings({ SMTP_PORT: 70000 }), /settings\.SMTP_PORT: must be a port number from 1 to 65535/],
      [smtpSettings({ FROM_EMAIL: 'Trigger.dev' }), /settings\.FROM_EMAIL: must be an email address/],
      [{ ...smtpSettings(), SMTP_PASSWORD: undefined }, /settings\.SMTP_PASSWORD: is required when SMTP_USER is set/],
    ];
    for (const [settings, pattern] of cases) {
      const f = await failure(execute(configureEmail, 'email', { installationId: 'mail', settings }));
      assert.equal(f.type, 'InvalidInput');
      assert.match(f.message, pattern);
    }
    // The CLI refuses the same before it reaches Temporal, naming the variable and its flag.
    const port = await cli(world, ['email', 'set', 'smtp', '-i', 'mail', '--from', 'login@example.com', '--reply-to', VERIFY_TO, '--smtp-host', 'smtp.example.com', '--smtp-port', '0']);
    assert.equal(port.code, 2, port.output);
    assert.match(port.output, /SMTP_PORT \(--smtp-port\): must be a port number from 1 to 65535\. Nothing was changed\./);
    const key = await cli(world, ['email', 'set', 'resend', '-i', 'mail', '--from', 'login@example.com', '--reply-to', VERIFY_TO]);
    assert.equal(key.code, 2, key.output);
    assert.match(key.output, /RESEND_API_KEY \(--resend-key-file \/ --resend-key-stdin\) is required for resend/);
    assert.deepEqual(webappVariables(), before);
    assert.equal(world.sandbox.railway.inspect().deployments.length, deployments);
  });

  it('email set smtp redeploys, really sends the verification email, and the next login says it was sent by email', async () => {
    const set = await cli(
      world,
      ['email', 'set', 'smtp', '-i', 'mail', '--json', '--from', 'login@example.com', '--reply-to', VERIFY_TO, '--smtp-host', '127.0.0.1', '--smtp-port', String(smtpPort), '--smtp-user', SMTP_USER, '--smtp-password-stdin'],
      `${SMTP_PASSWORD}\n`,
    );
    assert.equal(set.code, 0, set.output);
    assert.ok(!set.output.includes(SMTP_PASSWORD));
    const r = JSON.parse(set.stdout) as ConfigureEmailResult;
    workflowIds.push('email:mail');
    assert.equal(r.outcome, 'configured');
    assert.equal(r.verifiedTo, VERIFY_TO);
    assert.deepEqual(r.warnings, []);
    const verification = received.filter((m) => m.to.includes(VERIFY_TO));
    assert.equal(verification.length, 1, 'one verification email');
    assert.equal(verification[0]?.user, SMTP_USER);
    assert.equal(verification[0]?.from, 'login@example.com');
    assert.match(verification[0]?.data ?? '', /magic\?token=/);
    assert.deepEqual(emailVariables(), {
      EMAIL_TRANSPORT: 'smtp',
      FROM_EMAIL: 'login@example.com',
      REPLY_TO_EMAIL: VERIFY_TO,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      SMTP_SECURE: 'false',
      SMTP_USER,
      SMTP_PASSWORD,
    });
    const next = await execute<LoginResult>(login, 'login', { installationId: 'mail', email: 'you@example.com' });
    assert.equal(next.sentByEmail, true);
    assert.equal(next.transport, 'smtp');
    assert.match(next.message, /sent by email/);
    assert.equal(received.filter((m) => m.to.includes('you@example.com')).length, 1);
  });

  it('a failed redeploy puts the previous settings back', async () => {
    const previous = emailVariables();
    world.sandbox.webapp.faults.failNext('boot', 1, { status: 500, message: 'out of memory' });
    const f = await failure(execute(configureEmail, 'email', { installationId: 'mail', settings: smtpSettings({ FROM_EMAIL: 'other@example.com' }) }));
    assert.equal(f.type, 'EmailSetFailed');
    assert.match(f.message, /ended CRASHED/);
    assert.match(f.message, /previous email settings were put back/);
    assert.deepEqual(emailVariables(), previous);
    const latest = world.sandbox.railway.inspect().deployments.find((d) => d.service === SERVICE_NAMES.webapp);
    assert.equal(latest?.status, 'SUCCESS', 'the webapp runs again, with the old settings');
  });

  it('a port where no SMTP server listens fails verification and is put back', async () => {
    const previous = emailVariables();
    const closed = await freePort();
    const f = await failure(execute(configureEmail, 'email', { installationId: 'mail', settings: smtpSettings({ SMTP_PORT: closed }), verifyTo: 'closed-port@example.com' }));
    assert.equal(f.type, 'EmailSetFailed');
    assert.match(f.message, /could not send the magic link: Failed to send email to closed-port@example\.com, .*ECONNREFUSED/);
    assert.deepEqual(emailVariables(), previous);
  });

  it('email set resend sends through the Resend API; a key Resend refuses is put back', async () => {
    const ok = await execute<ConfigureEmailResult>(configureEmail, 'email', {
      installationId: 'mail',
      settings: { transport: 'resend', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: VERIFY_TO, RESEND_API_KEY: sealer.seal(world.sandbox.resend.apiKey) },
      verifyTo: 'resend-check@example.com',
    });
    assert.equal(ok.outcome, 'configured');
    const sent = world.sandbox.resend.sent();
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.to, ['resend-check@example.com']);
    assert.deepEqual(sent[0]?.replyTo, [VERIFY_TO]);
    assert.match(sent[0]?.text ?? '', /magic\?token=/);
    assert.deepEqual(emailVariables(), { EMAIL_TRANSPORT: 'resend', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: VERIFY_TO, RESEND_API_KEY: world.sandbox.resend.apiKey });
    const previous = emailVariables();
    const f = await failure(
      execute(configureEmail, 'email', {
        installationId: 'mail',
        settings: { transport: 'resend', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: VERIFY_TO, RESEND_API_KEY: sealer.seal('re_revokedkey12345678') },
        verifyTo: 'revoked-key@example.com',
      }),
    );
    assert.equal(f.type, 'EmailSetFailed');
    assert.match(f.message, /invalid_api_key: API key is invalid/);
    assert.doesNotMatch(f.message, /re_revoked/);
    assert.deepEqual(emailVariables(), previous);
  });

  it('email show and status print the transport with the secret masked', async () => {
    const out = await cli(world, ['email', 'show', '-i', 'mail']);
    assert.equal(out.code, 0, out.output);
    assert.match(out.stdout, /^Email: resend, from login@example\.com/m);
    assert.match(out.stdout, /RESEND_API_KEY\s+re_•••• \(\d+ characters\)/);
    assert.ok(!out.stdout.includes(world.sandbox.resend.apiKey));
    workflowIds.push('email-show:mail');
  });

  it('email set aws-ses sends SigV4-signed SendEmail requests to SES; a wrong secret is put back', async () => {
    const { ses } = world.sandbox;
    const settings = (secret: string) => ({ transport: 'aws-ses', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: VERIFY_TO, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: ses.accessKeyId, AWS_SECRET_ACCESS_KEY: sealer.seal(secret) });
    const ok = await execute<ConfigureEmailResult>(configureEmail, 'email', { installationId: 'mail', settings: settings(ses.secretAccessKey), verifyTo: 'ses-check@example.com' });
    assert.equal(ok.outcome, 'configured');
    assert.deepEqual(ses.sent().map((m) => [m.region, m.to]), [['eu-west-1', ['ses-check@example.com']]]);
    assert.match(ses.sent()[0]?.raw ?? '', /magic\?token=/);
    const previous = emailVariables();
    const wrong = 'x'.repeat(40);
    const f = await failure(execute(configureEmail, 'email', { installationId: 'mail', settings: settings(wrong), verifyTo: 'ses-wrong@example.com' }));
    assert.equal(f.type, 'EmailSetFailed');
    assert.match(f.message, /SignatureDoesNotMatch: The request signature we calculated does not match/);
    assert.deepEqual(emailVariables(), previous);
    assert.ok(!f.message.includes(wrong));
  });

  it('email unset removes the settings: login prints the link to the log again', async () => {
    const r = await execute<ConfigureEmailResult>(configureEmail, 'email', { installationId: 'mail', settings: { transport: 'none' } });
    assert.equal(r.outcome, 'removed');
    assert.deepEqual(emailVariables(), {});
    const out = await cli(world, ['login', 'third@example.com', '-i', 'mail']);
    assert.equal(out.code, 0, out.output);
    const url = /^\s+(http\S+\/magic\?token=\S+)$/m.exec(out.stdout)?.[1];
    assert.ok(url, `a link in:\n${out.stdout}`);
    assert.match(out.stdout, /^Magic link for third@example\.com \(printed \d+s ago, expires in (29|30)m \(\d\d:\d\d:\d\d UTC\)/m);
    assert.equal((await fetch(url, { redirect: 'manual' })).headers.get('location'), '/');
    workflowIds.push('login:mail');
  });

  it('no magic link, token or SMTP password is in any history', async () => {
    const tokens = linkValues(world);
    assert.ok(tokens.length >= 5, `links issued: ${tokens.length}`);
    for (const id of workflowIds) {
      const history = await decodedHistory(world.temporal.client, world.temporal.codec, id);
      for (const secret of [...tokens, SMTP_PASSWORD]) assert.ok(!history.includes(secret), `${id} holds a secret`);
      assert.doesNotMatch(history, /magic\?token=/, `${id} holds a magic link`);
    }
  });
});

/** Runs the CLI as a user's shell would, against the world's Temporal server and worker. */
function cliEnv(world: World): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: world.temporal.address,
    TEMPORAL_TASK_QUEUE: world.temporal.taskQueue,
    TRIGGER_OPS_CODEC_KEY: TEST_CODEC_KEY.toString('base64'),
    TRIGGER_OPS_DATA_DIR: world.dataDir,
  };
}

async function cli(world: World, args: string[], stdin?: string): Promise<{ code: number | string; stdout: string; output: string }> {
  const run = spawnCli(args, cliEnv(world), stdin === undefined ? {} : { stdin });
  const code = await run.exited;
  return { code, stdout: run.stdout(), output: run.output() };
}
