import { ApplicationFailure, CancellationScope, defineQuery, isCancellation, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../shared/errors';
import { resourceNames } from '../shared/ids';
import { deployInputSchema, type DeployInput, type DeployResult } from '../shared/deploy';
import { acts } from './activity-proxy';
import { rootCauseMessage, Saga } from './saga';
import { parseInput, withoutArguments } from './validate';

export interface DeployProgress {
  readonly step: string;
  readonly completed: readonly string[];
}

export const deployProgressQuery = defineQuery<DeployProgress>('progress');

/**
 * Deploys an installation's supervisor: Railway preflight → worker credentials → DigitalOcean key, firewall and
 * droplet → cloud-init → supervisor config → health gate. Every step is idempotent (find-or-create by deterministic
 * names); any failure, or cancellation, undoes what this run created, last first, and reports the original cause.
 */
export async function deploy(input: DeployInput): Promise<DeployResult> {
  const spec = parseInput(deployInputSchema, input, 'deploy');
  const { installationId } = spec;
  const completed: string[] = [];
  let step = 'validate';
  setHandler(deployProgressQuery, withoutArguments('progress query', () => ({ step, completed: [...completed] })));
  const begin = (name: string) => {
    step = name;
    log.info('deploy step', { installationId, step: name });
  };
  const done = () => completed.push(step);

  const settings = { healthTimeoutSeconds: spec.options.healthTimeoutSeconds, bootTimeoutSeconds: spec.options.bootTimeoutSeconds };
  // Every deploy takes its turn on the installation (started here when new): it waits until the current operation is
  // done, and is refused when a teardown came first.
  begin('wait-for-turn');
  const turn = await acts.acquireInstallation({
    installationId,
    deployWorkflowId: workflowInfo().workflowId,
    settings,
  });
  done();

  const saga = new Saga();
  let result: DeployResult;
  let apiUrl: string;
  let generation = 1;
  try {
    begin('railway-preflight');
    const target = await acts.resolveRailwayTarget(spec.railway);
    // A webapp that never came up may be stuck in its first boot's `prisma migrate deploy` (819 migrations, minutes
    // over Railway's network): apply its chain here in seconds, under Prisma's lock, so that boot finds nothing left.
    // Only then is Postgres reached; an installation whose webapp is up is never touched.
    const firstDeployment = patched('deploy-first-database-migrations') ? await acts.webappEverDeployed(target) : undefined;
    // `chainVendored` is absent from answers recorded before it was: those runs applied the chain.
    if (firstDeployment && !firstDeployment.deployed && firstDeployment.chainVendored !== false) {
      begin('database-migrations');
      await acts.applyDatabaseMigrations(target);
      done();
      begin('railway-preflight');
    }
    const preflight = await acts.preflightRailway({ ...target, generateMissingSecrets: spec.options.generateMissingSecrets });
    const supervisorVersion = spec.supervisorVersion ?? preflight.webappVersion;
    await acts.checkSupervisorVersion({ supervisorVersion, webappVersion: preflight.webappVersion });
    done();

    let generatedSecrets: string[] = [];
    if (preflight.missingSecrets.length > 0) {
      begin('railway-secrets');
      const names = preflight.missingSecrets;
      saga.add('railway-secrets', () =>
        acts.removeWebappVariables({ ...target, installationId, serviceId: preflight.webappServiceId, names }),
      );
      const written = await acts.ensureWebappSecrets({
        ...target,
        installationId,
        serviceId: preflight.webappServiceId,
        names,
      });
      generatedSecrets = written.added;
      done();
    }

    begin('worker-token');
    await acts.obtainWorkerToken({ installationId, ...target, webappServiceId: preflight.webappServiceId, apiUrl: preflight.apiUrl });
    await acts.probeWorkerCredentials({ installationId, ...target, webappServiceId: preflight.webappServiceId, apiUrl: preflight.apiUrl });
    done();

    begin('digitalocean-validate');
    const placement = await acts.validateDropletPlacement({ region: spec.region, size: spec.size, image: spec.image });
    // What already exists belongs to the installation, not to this run: a failed re-deploy must never remove it.
    const existing = await acts.inspectInstallationResources({ installationId });
    done();

    begin('ssh-key');
    // A first deploy leaves no trace when it fails: its tag (created with the firewall) goes last.
    if (!existing.firewall && existing.droplets.length === 0) saga.add('tag', () => acts.deleteInstallationTag({ installationId }));
    if (!existing.sshKey) saga.add('ssh-key', () => acts.deleteSshKey({ installationId }));
    const sshKey = await acts.ensureSshKey({ installationId });
    done();

    begin('firewall');
    if (!existing.firewall) saga.add('firewall', () => acts.deleteFirewall({ installationId }));
    const firewall = await acts.ensureFirewall({ installationId, sshSourceCidrs: spec.sshSourceCidrs });
    done();

    begin('droplet');
    // A deployed (or migrated) installation keeps its current droplet generation; a new one starts at 1.
    generation = Math.max(1, ...existing.droplets.map((d) => Number(/-g(\d+)$/.exec(d.name)?.[1] ?? 0)));
    const dropletName = resourceNames(installationId).droplet(generation);
    if (!existing.droplets.some((d) => d.name === dropletName)) {
      saga.add('droplet', () => acts.deleteDropletByName({ installationId, name: dropletName }));
    }
    const created = await acts.ensureDroplet({
      installationId,
      generation,
      region: spec.region,
      size: spec.size,
      image: spec.image,
      sshKeyId: sshKey.id,
      monitoring: spec.options.monitoring,
    });
    const droplet = await acts.waitForDropletActive({
      dropletId: created.id,
      timeoutSeconds: spec.options.bootTimeoutSeconds,
    });
    done();

    begin('cloud-init');
    const host = { installationId, ipv4: droplet.ipv4 };
    await acts.waitForCloudInit({
      ...host,
      timeoutSeconds: spec.options.bootTimeoutSeconds,
    });
    done();

    begin('supervisor-config');
    const applied = await acts.applySupervisorConfig({
      ...host,
      dropletId: created.id,
      ...target,
      webappServiceId: preflight.webappServiceId,
      supervisorVersion,
      apiUrl: preflight.apiUrl,
    });
    done();

    begin('health-gate');
    await acts.waitForSupervisorHealthy({
      ...host,
      supervisorVersion,
      timeoutSeconds: spec.options.healthTimeoutSeconds,
    });
    done();

    result = {
      installationId,
      droplet: { id: created.id, name: created.name, ipv4: droplet.ipv4 },
      region: spec.region,
      size: spec.size,
      image: spec.image,
      supervisorVersion,
      configHash: applied.configHash,
      firewallId: firewall.id,
      sshKeyId: sshKey.id,
      monthlyPriceUsd: placement.monthlyPriceUsd,
      railway: { ...target, webappServiceId: preflight.webappServiceId },
      generatedSecrets,
    };
    apiUrl = preflight.apiUrl;
  } catch (err) {
    const failedStep = step;
    step = 'rolling-back';
    log.warn('deploy failed; rolling back', { installationId, step: failedStep, workflowId: workflowInfo().workflowId });
    const leftovers = await saga.compensate();
    if (turn.held) {
      await CancellationScope.nonCancellable(() =>
        acts.releaseInstallation({ installationId, deployWorkflowId: workflowInfo().workflowId, message: `failed at step "${failedStep}": ${rootCauseMessage(err)}` }),
      );
    }
    step = 'rolled-back';
    if (isCancellation(err) && leftovers.length === 0) throw err;
    const unfinished = leftovers.length > 0
      ? ` Rollback could not undo: ${leftovers.join(', ')}; run teardown for "${installationId}" once the cause is fixed.`
      : ' Everything it created was removed.';
    throw ApplicationFailure.create({
      type: leftovers.length > 0 ? ErrorType.RollbackIncomplete : ErrorType.DeployFailed,
      message: `deploy failed at step "${failedStep}": ${rootCauseMessage(err)}.${unfinished}`,
      nonRetryable: true,
      ...(err instanceof Error ? { cause: err } : {}),
    });
  }

  // Outside the saga: a healthy supervisor is not torn down because the hand-over failed; deploy is rerunnable.
  begin('hand-over');
  await acts.handOverInstallation({
    deployed: { result, apiUrl, generation },
    settings,
  });
  done();
  step = 'done';
  return result;
}
