import { z } from 'zod';

/** The task queue every trigger-ops worker polls. */
export const TASK_QUEUE = 'trigger-ops';

/** An installation id: a short DNS-safe slug, used in workflow ids, tags and resource names. */
export const installationIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,22}[a-z0-9]$/, {
    message: 'must be 2-24 characters: lowercase letters, digits and "-", starting with a letter (e.g. "prod")',
  });

export type InstallationId = z.infer<typeof installationIdSchema>;

/** Deterministic, documented workflow ids: the Temporal CLI, the UI and our CLI all find the same executions. */
export const workflowIds = {
  controllerCheck: () => 'controller-check',
  deploy: (installationId: string) => `deploy:${installationId}`,
  plan: (installationId: string) => `plan:${installationId}`,
  logs: (installationId: string) => `logs:${installationId}`,
  teardown: (installationId: string) => `teardown:${installationId}`,
  installation: (installationId: string) => `installation:${installationId}`,
  healSchedule: (installationId: string) => `heal:${installationId}`,
  /** The installation's migrate child; one at a time per installation. */
  migrate: (installationId: string) => `migrate:${installationId}`,
  /** `email set` / `email unset`: one at a time per installation. */
  email: (installationId: string) => `email:${installationId}`,
  emailShow: (installationId: string) => `email-show:${installationId}`,
  login: (installationId: string) => `login:${installationId}`,
  links: (installationId: string) => `links:${installationId}`,
  /** `trigger-ops db migrate`: the webapp database's migration chain; one at a time per installation. */
  databaseMigrate: (installationId: string) => `db-migrate:${installationId}`,
  /** `trigger-ops db migrate --plan` (read-only). */
  databasePlan: (installationId: string) => `db-plan:${installationId}`,
} as const;

/** Tag on every DigitalOcean resource trigger-ops manages. */
export const MANAGED_TAG = 'trigger-ops';

/**
 * Deterministic names and tags of an installation's DigitalOcean resources: every create is find-or-create by
 * these, every delete goes by them, so a retried or resumed step never makes a second one.
 */
export function resourceNames(installationId: string) {
  const prefix = `tops-${installationId}`;
  return {
    tag: `trigger-ops-${installationId}`,
    firewall: `${prefix}-fw`,
    sshKey: `${prefix}-controller`,
    /** Also the supervisor's TRIGGER_WORKER_INSTANCE_NAME: one WorkerInstance at the webapp per droplet. */
    droplet: (generation: number) => `${prefix}-g${generation}`,
    /** How its droplet names look, for messages. */
    dropletPattern: `${prefix}-g<N>`,
    /** The generation in one of this installation's droplet names; undefined for any other name. */
    generationOf: (name: string): number | undefined => {
      const match = /^(.*)-g([1-9]\d{0,8})$/.exec(name);
      return match && match[1] === prefix ? Number(match[2]) : undefined;
    },
    workerGroup: `trigger-ops-${installationId}`,
  } as const;
}

/** Names (never values) of the secrets an installation keeps in the secret store. */
export function secretNames(installationId: string) {
  const base = `installations/${installationId}`;
  return {
    controllerSshKey: `${base}/controller-ssh-key`,
    hostKey: `${base}/droplet-host-key`,
    workerToken: `${base}/worker-token`,
    /** The supervisor's WORKLOAD_TOKEN_SECRET, generated once. */
    workloadTokenSecret: `${base}/workload-token-secret`,
    /** The webapp's email variables before an `email set`, kept until it succeeds or they are put back. */
    emailPrevious: `${base}/email-previous`,
  } as const;
}
