import { buildCloudConfig } from '../remote/cloud-config';
import { BOUNDS } from '../shared/activity-contract';
import { readAgentScript } from '../remote/agent-script';
import type { Client } from '@temporalio/client';
import { createControllerActivities } from './controller';
import { createEmailActivities } from './email';
import type { Sealer } from '../codec/sealed-value';
import { createAgentSession, createDropletActivities } from './droplet';
import type { DigitalOceanApi } from './digitalocean/client';
import { toDigitalOceanFailure } from './digitalocean/errors';
import { createSharedDropletList } from './digitalocean/shared-list';
import { createDigitalOceanActivities } from './digitalocean/steps';
import { withFailureMapping } from './failures';
import { withHeartbeats } from './heartbeat';
import { createTemporalActivities } from './temporal';
import type { RailwayApi } from './railway/api';
import { toRailwayFailure } from './railway/errors';
import { createRailwayActivities } from './railway/steps';
import { createLogActivities } from './logs';
import { createPostgresActivities } from './postgres';
import { createInstallationKeys, createSecretActivities, type Redactor, type SecretStore } from './secrets';
import type { DropletConnection } from './ssh/client';
import { toSshFailure } from './ssh/errors';
import { toWebappFailure, type WebappClient } from './trigger';

/** Everything the activities need, built once by the composition root (src/worker.ts) from config. */
export interface ActivityDeps {
  readonly dataDir: string;
  readonly codecKeyId: string;
  readonly digitalocean: DigitalOceanApi;
  readonly railway: RailwayApi;
  /** A webapp client for a public origin (admin token included when configured). */
  readonly webapp: (baseUrl: string) => WebappClient;
  readonly connectDroplet: (input: { host: string; privateKey: string; pinnedHostKey: string }) => Promise<DropletConnection>;
  readonly secrets: SecretStore;
  readonly redactor: Redactor;
  /** Opens credentials sealed by the CLI (email secrets) and seals what goes back to it (magic links). */
  readonly sealer: Sealer;
  readonly railwayDefaults: { readonly projectId: string | undefined; readonly environmentId: string | undefined };
  readonly railwayProjectToken: boolean;
  /** Where the controller runs on Railway, if it does (RAILWAY_PRIVATE_DOMAIN): Postgres is then reached privately. */
  readonly controllerOnRailway?: { readonly projectId: string | undefined; readonly environmentId: string | undefined; readonly privateDomain: string | undefined };
  readonly configuredWorkerToken: string | undefined;
  readonly pollIntervalMs: number;
  /** How long DigitalOcean may still carry out a droplet create whose answer was lost. */
  readonly createSettleMs: number;
  /** A client of the Temporal service (schedules, hand-over to the installation workflow); lazily connected. */
  readonly temporalClient?: () => Promise<Client>;
}

/** Every activity the worker registers: one factory per external system, errors mapped to the catalogue. */
export function createActivities(deps: ActivityDeps) {
  const keys = createInstallationKeys(deps.secrets);
  const agentScript = readAgentScript();
  // One per worker, so one per DigitalOcean token: every activity writes through its client (writes drop the list).
  const dropletList = createSharedDropletList(deps.digitalocean, { ttlMs: BOUNDS.sharedDropletListMs });
  const digitalocean = dropletList.api;
  const activities = mergeActivities(
    createControllerActivities(deps),
    createRailwayActivities({
      railway: deps.railway,
      webapp: deps.webapp,
      secrets: deps.secrets,
      defaultTarget: deps.railwayDefaults,
      projectToken: deps.railwayProjectToken,
      configuredWorkerToken: deps.configuredWorkerToken,
      pollIntervalMs: deps.pollIntervalMs,
    }),
    createDigitalOceanActivities({
      api: digitalocean,
      keys,
      pollIntervalMs: deps.pollIntervalMs,
      createSettleMs: deps.createSettleMs,
      buildUserData: async ({ installationId, image }) => {
        const [controller, hostKey] = await Promise.all([keys.controllerKey(installationId), keys.hostKey(installationId)]);
        return buildCloudConfig({
          installationId,
          controllerPublicKey: controller.publicKey,
          hostKey,
          agentScript,
          // DigitalOcean's Docker 1-Click images ship Docker and Compose; anything else installs them.
          docker: image.startsWith('docker-') ? 'preinstalled' : 'packages',
        });
      },
    }),
    createDropletActivities({
      connect: deps.connectDroplet,
      keys,
      secrets: deps.secrets,
      railway: deps.railway,
      webapp: deps.webapp,
      digitalocean,
      dropletList,
      pollIntervalMs: deps.pollIntervalMs,
    }),
    createSecretActivities({ secrets: deps.secrets }),
    createEmailActivities({
      railway: deps.railway,
      webapp: deps.webapp,
      secrets: deps.secrets,
      sealer: deps.sealer,
      redactor: deps.redactor,
      pollIntervalMs: deps.pollIntervalMs,
    }),
    createPostgresActivities({
      railway: deps.railway,
      controllerOnRailway: deps.controllerOnRailway ?? { projectId: undefined, environmentId: undefined, privateDomain: undefined },
    }),
    createLogActivities({
      digitalocean,
      railway: deps.railway,
      agentSession: createAgentSession({ connect: deps.connectDroplet, keys }),
      redactor: deps.redactor,
    }),
    createTemporalActivities({ temporalClient: deps.temporalClient, pollIntervalMs: deps.pollIntervalMs }),
  );
  return withHeartbeats(withFailureMapping(activities, [toDigitalOceanFailure, toRailwayFailure, toWebappFailure, toSshFailure], deps.redactor));
}

export type Activities = ReturnType<typeof createActivities>;

type Merged<T extends readonly object[]> = T extends readonly [infer H, ...infer R extends readonly object[]] ? H & Merged<R> : unknown;

/** The factories' activities in one object; a name defined by two factories is a start-up error, not a silent winner. */
export function mergeActivities<T extends readonly object[]>(...parts: T): Merged<T> {
  const merged: Record<string, unknown> = {};
  for (const part of parts) {
    for (const [name, fn] of Object.entries(part)) {
      if (name in merged) throw new Error(`activity "${name}" is defined by two factories`);
      merged[name] = fn;
    }
  }
  return merged as Merged<T>;
}
