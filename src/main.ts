import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { failureMessage } from './cli/context';
import { formatDeploySummary } from './cli/deploy';
import { followWorkflow } from './cli/watch';
import { loadConfig, redact, type Config } from './config';
import { startController, type RunningController } from './controller';
import { loadSandbox, type Sandbox } from './controller/sandbox';
import { parseTimingProfile, type TimingProfile } from './shared/timing-profiles';
import type { DeployResult } from './shared/deploy';
import { installationIdSchema, workflowIds } from './shared/ids';
import { deploy, deployProgressQuery, teardown } from './workflows';
import { untilInterrupted } from './controller/signals';

/**
 * `npm start`: everything on this machine. The embedded Temporal server (unless TEMPORAL_ADDRESS is set), a worker,
 * and — when no cloud credentials are configured — the sandbox standing in for DigitalOcean, Railway, the webapp and
 * the droplets. It deploys the supervisor, prints a summary and keeps the controller running until Ctrl-C.
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
  const config: Config = sandbox ? loadConfig({ ...process.env, ...sandbox.env }) : base;
  const installationId = installationIdSchema.parse(values.installation ?? (sandbox ? 'sandbox' : 'default'));
  say(`• configuration: ${JSON.stringify(redact(config))}`);

  let controller: RunningController | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (controller && sandbox) {
        say(`• tearing down the sandbox installation "${installationId}"`);
        await runTeardown(controller.client, config, installationId).catch((err: unknown) =>
          say(`  teardown: ${err instanceof Error ? err.message : String(err)}`),
        );
      }
      await controller?.stop();
      await sandbox?.close();
    })());

  try {
    controller = await startController(config, (m) => say(`• ${m}`));
    say(`• worker polling task queue "${config.temporal.taskQueue}" on ${controller.temporal.address}`);
    if (controller.temporal.uiUrl) say(`• Temporal UI: ${controller.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
    if (controller.temporal.codecServer) say(`• payload codec server (for the UI and temporal --codec-endpoint): ${controller.temporal.codecServer.url}`);
    if (sandbox) {
      // The sandbox is new on every start: whatever an earlier run left in the embedded server refers to a world
      // that is gone, so the installation starts from a clean slate.
      await runTeardown(controller.client, config, installationId);
    }

    say(`• deploying installation "${installationId}" (workflow ${workflowIds.deploy(installationId)})`);
    const handle = await controller.client.workflow.start(deploy, {
      taskQueue: config.temporal.taskQueue,
      workflowId: workflowIds.deploy(installationId),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ installationId }],
    });
    const outcome = await followWorkflow<DeployResult>(handle, deployProgressQuery, {
      print: say,
      cancelHint: 'Stopping.',
    });
    if (outcome.detached) {
      await stop();
      return 130;
    }
    say('');
    process.stdout.write(formatDeploySummary(outcome.result));
    if (sandbox) say(`  webapp    ${sandbox.webapp.url} saw: ${sandbox.webapp.workerInstances().map((i) => `${i.name} (v${i.workerVersion ?? '?'})`).join(', ')}`);
  } catch (err) {
    process.stderr.write(`✗ ${err instanceof WorkflowFailedError ? failureMessage(err) : err instanceof Error ? err.message : String(err)}\n`);
    await stop();
    return 1;
  }

  if (values.once) {
    await stop();
    return 0;
  }
  say('\n• controller running (heal schedule active); Ctrl-C stops everything');
  await untilInterrupted();
  say('• stopping… (Ctrl-C again to quit at once)');
  process.once('SIGINT', () => process.exit(130));
  await stop();
  return 0;
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
