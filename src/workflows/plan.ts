import { deployInputSchema, type DeployInput } from '../shared/deploy';
import { resourceNames } from '../shared/ids';
import type { DeployPlan, PlanItem } from '../shared/plan';
import { acts } from './activity-proxy';
import { parseInput } from './validate';

/**
 * What `deploy` would create or change, from read-only calls only: Railway preflight, DigitalOcean placement and
 * prices, and the installation's existing resources. Changes nothing.
 */
export async function deployPlan(input: DeployInput): Promise<DeployPlan> {
  const spec = parseInput(deployInputSchema, input, 'deployPlan');
  const names = resourceNames(spec.installationId);
  const target = await acts.resolveRailwayTarget(spec.railway);
  const preflight = await acts.preflightRailway({ ...target, generateMissingSecrets: spec.options.generateMissingSecrets });
  const supervisorVersion = spec.supervisorVersion ?? preflight.webappVersion;
  await acts.checkSupervisorVersion({ supervisorVersion, webappVersion: preflight.webappVersion });
  const placement = await acts.validateDropletPlacement({ region: spec.region, size: spec.size, image: spec.image });
  const existing = await acts.inspectInstallationResources({ installationId: spec.installationId });

  const items: PlanItem[] = [
    preflight.missingSecrets.length > 0
      ? { system: 'railway', action: 'change', what: `generate ${preflight.missingSecrets.join(', ')} on the webapp (one variable change, one redeploy)` }
      : { system: 'railway', action: 'keep', what: 'webapp secrets exist and are not published defaults (nothing rotated)' },
    { system: 'webapp', action: 'check', what: `worker group "${names.workerGroup}" token (admin API, TRIGGER_WORKER_TOKEN or bootstrap log), probed with one heartbeat` },
    existing.sshKey
      ? { system: 'digitalocean', action: 'keep', what: `SSH key ${existing.sshKey.name} (id ${existing.sshKey.id})` }
      : { system: 'digitalocean', action: 'create', what: `SSH key ${names.sshKey} (ed25519, the controller's own)` },
    existing.firewall
      ? { system: 'digitalocean', action: 'keep', what: `firewall ${existing.firewall.name}` }
      : { system: 'digitalocean', action: 'create', what: `firewall ${names.firewall}: inbound tcp/22 from ${spec.sshSourceCidrs.join(', ')}; outbound open; applies to tag ${names.tag}` },
    existing.droplets.length > 0
      ? { system: 'digitalocean', action: 'keep', what: `droplet ${existing.droplets.map((d) => `${d.name} (${d.status})`).join(', ')}` }
      : { system: 'digitalocean', action: 'create', what: `droplet ${names.droplet(1)}: ${spec.size} in ${spec.region} (${placement.regionName}), image ${spec.image}, tags trigger-ops, ${names.tag}` },
    { system: 'droplet', action: existing.droplets.length > 0 ? 'change' : 'create', what: `supervisor ${supervisorVersion} (compose + .env 0600 via the agent), health gate ${spec.options.healthTimeoutSeconds}s` },
  ];
  return {
    installationId: spec.installationId,
    items,
    monthlyPriceUsd: placement.monthlyPriceUsd,
    hourlyPriceUsd: placement.hourlyPriceUsd,
    supervisorVersion,
  };
}
