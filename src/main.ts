import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { formatStatus } from './cli/status';
import { loadConfig, redact, type Config } from './config';
import { loadSandbox, type Sandbox } from './controller/sandbox';
import { startControllerService, type ControllerService } from './controller/service';
import { untilInterrupted } from './controller/signals';
import { parseTimingProfile, type TimingProfile } from './shared/timing-profiles';
import { workflowIds } from './shared/ids';
import { statusQuery } from './shared/installation-messages';
import { teardown } from './workflows';

/**
 * `npm start`: `trigger-ops controller` on this machine — the embedded Temporal server (unless TEMPORAL_ADDRESS is
 * set), a worker, the HTTP side and the reconciler — and, when no cloud credentials are configured, the sandbox
 * standing in for DigitalOcean, Railway, the webapp and the droplets first. The reconciler deploys the supervisor; the
 * installation's status is printed once it matches, and the controller keeps running until Ctrl-C.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      installation: { type: 'string' },
      // How long the sandbox's stand-ins take (docs/sandbox-timings.md); `realistic` makes a deploy take minutes.
      timings: { type: 'string', default: 'default' },
    },
  });
  let timings: TimingProfile;
  try {
    timings = parseTimingProfile(values.timings, '--timings');
  } catch (err) {
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const say = (m: string) => process.stdout.write(`${m}\n`);
  const base = loadConfig(process.env);
  // The quick start prints its own progress; the worker's own log lines (each failed attempt with its stack) are for
  // LOG_LEVEL=DEBUG or for `trigger-ops worker`.
  // Ctrl-C is handled here (teardown first, then the worker), not by the SDK's default of stopping workers at once.
  Runtime.install({ logger: new DefaultLogger(base.logLevel === 'DEBUG' ? 'INFO' : 'ERROR'), shutdownSignals: [] });

  const onCloud = Boolean(base.digitalocean.token || base.railway.apiToken || base.railway.projectToken);
  if (onCloud && timings !== 'default') {
    throw new Error('--timings applies to the sandbox only, and cloud credentials are set: drop --timings, or unset DIGITALOCEAN_TOKEN and the Railway tokens');
  }
  let sandbox: Sandbox | undefined;
  if (!onCloud) {
    say(`• No DigitalOcean or Railway credentials: starting the sandbox (local stand-ins for both, the webapp and droplets; ${timings} timings)`);
    // Its CA is kept in the data dir, so a client told to trust it (curl --cacert) stays right across starts.
    sandbox = await loadSandbox().startSandbox({ timings, tlsDir: join(base.dataDir, 'sandbox-tls') });
  }
  const installation = values.installation ?? base.controller.installation;
  const config: Config = loadConfig({
    ...process.env,
    ...(sandbox?.env ?? {}),
    ...(installation !== undefined && { TRIGGER_OPS_INSTALLATION: installation }),
  });
  say(`• configuration: ${JSON.stringify(redact(config))}`);

  let service: ControllerService | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (service && sandbox) {
        say(`• tearing down the sandbox installation "${service.installationId}"`);
        await service.reconciler.stop();
        await runTeardown(service.controller.client, config, service.installationId).catch((err: unknown) =>
          say(`  teardown: ${err instanceof Error ? err.message : String(err)}`),
        );
      }
      await service?.stop();
      await sandbox?.close();
    })());

  try {
    service = await startControllerService(config, {
      defaultInstallation: sandbox ? 'sandbox' : 'default',
      log: (m) => say(`• ${m}`),
      // On this machine the status page is for this machine; on Railway the controller listens on every interface.
      host: '127.0.0.1',
      // The sandbox is new on every start: whatever an earlier run left in the embedded server refers to a world
      // that is gone, so the installation starts from a clean slate.
      ...(sandbox && { beforeReconcile: (c) => runTeardown(c.client, config, config.controller.installation ?? 'sandbox') }),
    });
    const { controller } = service;
    say(`• worker polling task queue "${config.temporal.taskQueue}" on ${controller.temporal.address}`);
    if (controller.temporal.uiUrl) say(`• Temporal UI: ${controller.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
    if (controller.temporal.codecServer) say(`• payload codec server (for the UI and temporal --codec-endpoint): ${controller.temporal.codecServer.url}`);
    say(`• status page: ${service.http.url}/`);
    const interrupted = untilInterrupted();
    const outcome = await Promise.race([service.reconciler.settled, interrupted.then(() => undefined)]);
    if (!outcome) {
      await stop();
      return 130;
    }
    if (outcome.phase !== 'in-sync') {
      process.stderr.write(`✗ ${outcome.problem ?? outcome.message}\n`);
      if (values.once || sandbox) {
        await stop();
        return 1;
      }
      say('• the controller stays up (the status page says what to do); Ctrl-C stops it');
    } else {
      const status = await controller.client.workflow.getHandle(workflowIds.installation(service.installationId)).query(statusQuery);
      say('');
      process.stdout.write(formatStatus(status));
      if (sandbox) say(`  webapp ${sandbox.webapp.url} saw: ${sandbox.webapp.workerInstances().map((i) => `${i.name} (v${i.workerVersion ?? '?'})`).join(', ')}`);
    }
    if (values.once) {
      await stop();
      return 0;
    }
    say('\n• controller running (heal schedule active); Ctrl-C stops everything');
    await interrupted;
    say('• stopping… (Ctrl-C again to quit at once)');
    process.once('SIGINT', () => process.exit(130));
    await stop();
    return 0;
  } catch (err) {
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    await stop();
    return 1;
  }
}

async function runTeardown(client: Client, config: Config, installationId: string): Promise<void> {
  await client.workflow.execute(teardown, {
    taskQueue: config.temporal.taskQueue,
    workflowId: workflowIds.teardown(installationId),
    workflowIdConflictPolicy: 'USE_EXISTING',
    // The sandbox lives as long as this process: its installation's keys and token are worthless after it.
    args: [{ installationId, forgetSecrets: true }],
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
