import { ApplicationFailure } from '@temporalio/activity';
import { agentLogsCommand } from '../remote/agent-commands';
import { ErrorType } from '../shared/errors';
import { resourceNames } from '../shared/ids';
import type { DigitalOceanApi } from './digitalocean/client';
import type { RailwayApi } from './railway/api';
import { findWebappService } from './railway/services';
import type { Redactor } from './secrets/redactor';
import type { createAgentSession } from './droplet/session';
import { BOUNDS } from '../shared/activity-contract';

export interface LogStepDeps {
  readonly digitalocean: DigitalOceanApi;
  readonly railway: RailwayApi;
  readonly agentSession: ReturnType<typeof createAgentSession>;
  readonly redactor: Redactor;
}

/** Read-only log fetches for `trigger-ops logs`; every line passes the redactor before it leaves the worker. */
export function createLogActivities(deps: LogStepDeps) {
  return {
    /** The supervisor's log on each active droplet of the installation, through the agent. */
    async supervisorLogs(input: { installationId: string; tail: number }) {
      const droplets = await deps.digitalocean.listDropletsByTag(resourceNames(input.installationId).tag);
      const out: { droplet: string; log: string }[] = [];
      for (const d of droplets) {
        if (d.status !== 'active' || !d.publicIpv4) {
          out.push({ droplet: d.name, log: `(droplet is ${d.status}: no log)` });
          continue;
        }
        const ipv4 = d.publicIpv4;
        const logs = await deps.agentSession.session(input.installationId, ipv4, (c) =>
          deps.agentSession.agent(c, 'logs', agentLogsCommand({ tail: input.tail }), BOUNDS.agentLogsMs),
        );
        out.push({ droplet: d.name, log: deps.redactor.redact(logs.log) });
      }
      return out;
    },

    /** The webapp's latest deployment log on Railway. */
    async webappLogs(input: { projectId: string; environmentId: string; tail: number }) {
      const environment = await deps.railway.getEnvironment(input.environmentId, input.projectId);
      const webapp = findWebappService(environment.serviceInstances);
      if (!webapp) throw ApplicationFailure.nonRetryable(`no Trigger.dev webapp service in Railway environment "${environment.name}"`, ErrorType.NotFound);
      const deployment = await deps.railway.latestDeployment({ ...input, serviceId: webapp.serviceId });
      if (!deployment) return { service: webapp.serviceName, deploymentId: null, lines: [] as string[] };
      const lines = await deps.railway.deploymentLogs(deployment.id, { limit: input.tail });
      return {
        service: webapp.serviceName,
        deploymentId: deployment.id,
        lines: lines.map((l) => deps.redactor.redact(`${l.timestamp} ${l.message}`)),
      };
    },
  };
}
