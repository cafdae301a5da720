import { z } from 'zod';
import { ErrorType } from '../../shared/errors';
import type { RailwayGraphqlClient } from './client';
import {
  DEPLOYMENT_LOGS_QUERY,
  DEPLOYMENT_QUERY,
  DEPLOYMENT_REDEPLOY_MUTATION,
  DEPLOYMENTS_QUERY,
  ENVIRONMENT_QUERY,
  PROJECT_QUERY,
  PROJECT_TOKEN_QUERY,
  SERVICE_INSTANCE_DEPLOY_MUTATION,
  SERVICE_INSTANCE_UPDATE_MUTATION,
  VARIABLE_COLLECTION_UPSERT_MUTATION,
  VARIABLE_DELETE_MUTATION,
  VARIABLES_QUERY,
} from './documents';
import { RailwayApiError } from './errors';

export const DEPLOYMENT_STATUSES = [
  'BUILDING',
  'CRASHED',
  'DEPLOYING',
  'FAILED',
  'INITIALIZING',
  'NEEDS_APPROVAL',
  'QUEUED',
  'REMOVED',
  'REMOVING',
  'SKIPPED',
  'SLEEPING',
  'SUCCESS',
  'WAITING',
] as const;
export type RailwayDeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

const named = z.object({ id: z.string(), name: z.string() });
const edgesOf = <T extends z.ZodType>(node: T) => z.object({ edges: z.array(z.object({ node })) });

const deploymentSchema = z.object({
  id: z.string(),
  status: z.enum(DEPLOYMENT_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  serviceId: z.string().nullable(),
  environmentId: z.string(),
  canRedeploy: z.boolean(),
  meta: z.unknown(),
});
export type RailwayDeployment = Omit<z.infer<typeof deploymentSchema>, 'meta'>;

const schemas = {
  projectToken: z.object({
    projectToken: z.object({ projectId: z.string(), environmentId: z.string(), project: named, environment: named }),
  }),
  project: z.object({
    project: z.object({ id: z.string(), name: z.string(), services: edgesOf(named), environments: edgesOf(named) }),
  }),
  environment: z.object({
    environment: z.object({
      id: z.string(),
      name: z.string(),
      projectId: z.string(),
      serviceInstances: edgesOf(
        z.object({
          id: z.string(),
          serviceId: z.string(),
          serviceName: z.string(),
          source: z.object({ image: z.string().nullable() }).nullable(),
          domains: z.object({
            serviceDomains: z.array(z.object({ domain: z.string() })),
            customDomains: z.array(z.object({ domain: z.string() })),
          }),
          latestDeployment: z.object({ id: z.string(), status: z.enum(DEPLOYMENT_STATUSES), createdAt: z.string() }).nullable(),
        }),
      ),
    }),
  }),
  variables: z.object({ variables: z.record(z.string(), z.string()) }),
  upsert: z.object({ variableCollectionUpsert: z.boolean() }),
  delete: z.object({ variableDelete: z.boolean() }),
  deployments: z.object({ deployments: edgesOf(deploymentSchema) }),
  deployment: z.object({ deployment: deploymentSchema }),
  logs: z.object({
    deploymentLogs: z.array(z.object({ timestamp: z.string(), message: z.string(), severity: z.string().nullable() })),
  }),
  deploy: z.object({ serviceInstanceDeployV2: z.string() }),
  redeploy: z.object({ deploymentRedeploy: deploymentSchema }),
  update: z.object({ serviceInstanceUpdate: z.boolean() }),
};

export interface RailwayProject {
  readonly id: string;
  readonly name: string;
  readonly services: readonly { readonly id: string; readonly name: string }[];
  readonly environments: readonly { readonly id: string; readonly name: string }[];
}

export interface RailwayServiceInstance {
  readonly serviceId: string;
  readonly serviceName: string;
  readonly image: string | undefined;
  /** Public host names (Railway and custom domains). */
  readonly domains: readonly string[];
  readonly latestDeployment: { readonly id: string; readonly status: RailwayDeploymentStatus; readonly createdAt: string } | undefined;
}

export interface RailwayEnvironment {
  readonly id: string;
  readonly name: string;
  readonly projectId: string;
  readonly serviceInstances: readonly RailwayServiceInstance[];
}

/** Where variables live: a service's, or the environment's shared variables when serviceId is omitted. */
export interface RailwayVariableTarget {
  readonly projectId: string;
  readonly environmentId: string;
  readonly serviceId?: string | undefined;
}

export interface RailwayLogLine {
  readonly timestamp: string;
  readonly message: string;
  readonly severity: string | undefined;
}

export interface DeploymentListQuery {
  readonly projectId?: string;
  readonly environmentId: string;
  readonly serviceId: string;
  readonly status?: { readonly in?: readonly RailwayDeploymentStatus[]; readonly notIn?: readonly RailwayDeploymentStatus[] };
  /** Default 20. */
  readonly first?: number;
}

/** The narrow view of Railway that activities use. */
export interface RailwayApi {
  /** Project and environment of a project token (fails with AuthError for an account token). */
  resolveProjectToken(): Promise<{ readonly projectId: string; readonly environmentId: string; readonly projectName: string; readonly environmentName: string }>;
  getProject(projectId: string): Promise<RailwayProject>;
  getEnvironment(environmentId: string, projectId?: string): Promise<RailwayEnvironment>;
  /** Rendered values (references resolved) unless `unrendered`. */
  getVariables(target: RailwayVariableTarget, options?: { readonly unrendered?: boolean }): Promise<Record<string, string>>;
  /** Merges the given variables (never `replace`); unless `skipDeploys`, Railway redeploys the affected services. */
  upsertVariables(
    target: RailwayVariableTarget,
    variables: Readonly<Record<string, string>>,
    options?: { readonly skipDeploys?: boolean },
  ): Promise<void>;
  deleteVariable(target: RailwayVariableTarget, name: string): Promise<void>;
  /** Newest first. */
  listDeployments(query: DeploymentListQuery): Promise<RailwayDeployment[]>;
  latestDeployment(query: Omit<DeploymentListQuery, 'first'>): Promise<RailwayDeployment | undefined>;
  getDeployment(id: string): Promise<RailwayDeployment>;
  /** The newest `limit` lines between startDate and endDate (ISO, inclusive), oldest first. */
  deploymentLogs(
    deploymentId: string,
    options?: { readonly filter?: string; readonly limit?: number; readonly startDate?: string; readonly endDate?: string },
  ): Promise<RailwayLogLine[]>;
  /** Sets the service's variables to exactly these (`replace`: every other one is deleted), in one change. */
  replaceVariables(target: RailwayVariableTarget, variables: Readonly<Record<string, string>>): Promise<void>;
  /** Deploys the service's current source and variables; returns the new deployment's id. */
  deployService(environmentId: string, serviceId: string): Promise<string>;
  redeployDeployment(id: string): Promise<RailwayDeployment>;
  setServiceImage(environmentId: string, serviceId: string, image: string): Promise<void>;
}

export function createRailwayApi(client: RailwayGraphqlClient): RailwayApi {
  async function call<T>(operation: string, document: string, schema: z.ZodType<T>, variables?: Record<string, unknown>): Promise<T> {
    const data = await client.request(operation, document, variables);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new RailwayApiError(operation, ErrorType.Unavailable, `Railway ${operation}: unexpected answer (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    }
    return parsed.data;
  }
  const strip = ({ meta: _meta, ...d }: z.infer<typeof deploymentSchema>): RailwayDeployment => d;
  const listDeployments: RailwayApi['listDeployments'] = async (q) => {
    const input = {
      environmentId: q.environmentId,
      serviceId: q.serviceId,
      ...(q.projectId !== undefined && { projectId: q.projectId }),
      ...(q.status && { status: { ...(q.status.in && { in: q.status.in }), ...(q.status.notIn && { notIn: q.status.notIn }) } }),
    };
    const r = await call('Deployments', DEPLOYMENTS_QUERY, schemas.deployments, { input, first: q.first ?? 20 });
    return r.deployments.edges
      .map((e) => strip(e.node))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  };
  const target = (t: RailwayVariableTarget) => ({
    projectId: t.projectId,
    environmentId: t.environmentId,
    ...(t.serviceId !== undefined && { serviceId: t.serviceId }),
  });

  return {
    async resolveProjectToken() {
      const r = await call('ProjectTokenContext', PROJECT_TOKEN_QUERY, schemas.projectToken);
      const t = r.projectToken;
      return { projectId: t.projectId, environmentId: t.environmentId, projectName: t.project.name, environmentName: t.environment.name };
    },
    async getProject(projectId) {
      const { project: p } = await call('Project', PROJECT_QUERY, schemas.project, { id: projectId });
      return {
        id: p.id,
        name: p.name,
        services: p.services.edges.map((e) => e.node),
        environments: p.environments.edges.map((e) => e.node),
      };
    },
    async getEnvironment(environmentId, projectId) {
      const { environment: e } = await call('Environment', ENVIRONMENT_QUERY, schemas.environment, {
        id: environmentId,
        ...(projectId !== undefined && { projectId }),
      });
      return {
        id: e.id,
        name: e.name,
        projectId: e.projectId,
        serviceInstances: e.serviceInstances.edges.map(({ node: i }) => ({
          serviceId: i.serviceId,
          serviceName: i.serviceName,
          image: i.source?.image ?? undefined,
          domains: [...i.domains.serviceDomains, ...i.domains.customDomains].map((d) => d.domain),
          latestDeployment: i.latestDeployment ?? undefined,
        })),
      };
    },
    async getVariables(t, options = {}) {
      const r = await call('Variables', VARIABLES_QUERY, schemas.variables, { ...target(t), unrendered: options.unrendered ?? false });
      return r.variables;
    },
    async upsertVariables(t, variables, options = {}) {
      await call('VariableCollectionUpsert', VARIABLE_COLLECTION_UPSERT_MUTATION, schemas.upsert, {
        input: { ...target(t), variables, replace: false, skipDeploys: options.skipDeploys ?? false },
      });
    },
    async replaceVariables(t, variables) {
      await call('VariableCollectionUpsert', VARIABLE_COLLECTION_UPSERT_MUTATION, schemas.upsert, {
        input: { ...target(t), variables, replace: true, skipDeploys: false },
      });
    },
    async deleteVariable(t, name) {
      await call('VariableDelete', VARIABLE_DELETE_MUTATION, schemas.delete, { input: { ...target(t), name } });
    },
    listDeployments,
    async latestDeployment(q) {
      return (await listDeployments({ ...q, first: 1 }))[0];
    },
    async getDeployment(id) {
      return strip((await call('Deployment', DEPLOYMENT_QUERY, schemas.deployment, { id })).deployment);
    },
    async deploymentLogs(deploymentId, options = {}) {
      const r = await call('DeploymentLogs', DEPLOYMENT_LOGS_QUERY, schemas.logs, {
        deploymentId,
        ...(options.filter !== undefined && { filter: options.filter }),
        ...(options.limit !== undefined && { limit: options.limit }),
        ...(options.startDate !== undefined && { startDate: options.startDate }),
        ...(options.endDate !== undefined && { endDate: options.endDate }),
      });
      return r.deploymentLogs.map((l) => ({ timestamp: l.timestamp, message: l.message, severity: l.severity ?? undefined }));
    },
    async deployService(environmentId, serviceId) {
      return (await call('ServiceInstanceDeploy', SERVICE_INSTANCE_DEPLOY_MUTATION, schemas.deploy, { environmentId, serviceId }))
        .serviceInstanceDeployV2;
    },
    async redeployDeployment(id) {
      return strip((await call('DeploymentRedeploy', DEPLOYMENT_REDEPLOY_MUTATION, schemas.redeploy, { id })).deploymentRedeploy);
    },
    async setServiceImage(environmentId, serviceId, image) {
      await call('ServiceInstanceUpdate', SERVICE_INSTANCE_UPDATE_MUTATION, schemas.update, {
        environmentId,
        serviceId,
        input: { source: { image } },
      });
    },
  };
}
