/** The in-memory model behind the Railway stand-in. Ids are UUIDs, as on Railway. */

export type DeploymentStatus =
  | 'BUILDING'
  | 'CRASHED'
  | 'DEPLOYING'
  | 'FAILED'
  | 'INITIALIZING'
  | 'NEEDS_APPROVAL'
  | 'QUEUED'
  | 'REMOVED'
  | 'REMOVING'
  | 'SKIPPED'
  | 'SLEEPING'
  | 'SUCCESS'
  | 'WAITING';

/** Statuses a deployment passes through on its way to SUCCESS. */
export const IN_PROGRESS_STATUSES: readonly DeploymentStatus[] = ['QUEUED', 'INITIALIZING', 'BUILDING', 'DEPLOYING', 'WAITING'];

export interface ProjectRecord {
  readonly id: string;
  name: string;
  readonly workspaceId: string;
  readonly createdAt: Date;
  updatedAt: Date;
}

export interface EnvironmentRecord {
  readonly id: string;
  readonly projectId: string;
  name: string;
  readonly createdAt: Date;
  updatedAt: Date;
}

export interface ServiceRecord {
  readonly id: string;
  readonly projectId: string;
  name: string;
  icon: string | undefined;
  readonly createdAt: Date;
  updatedAt: Date;
}

export interface ServiceDomainRecord {
  readonly id: string;
  /** Host name (with `:port` for the webapp stand-in on loopback). */
  readonly domain: string;
  readonly targetPort: number | undefined;
}

export interface TcpProxyRecord {
  readonly id: string;
  readonly domain: string;
  readonly proxyPort: number;
  readonly applicationPort: number;
}

export interface ServiceInstanceRecord {
  readonly id: string;
  readonly environmentId: string;
  readonly serviceId: string;
  image: string | undefined;
  startCommand: string | undefined;
  healthcheckPath: string | undefined;
  numReplicas: number;
  region: string;
  readonly serviceDomains: ServiceDomainRecord[];
  readonly tcpProxies: TcpProxyRecord[];
  readonly createdAt: Date;
  updatedAt: Date;
}

export interface LogRecord {
  /** RFC 3339 timestamp. */
  readonly timestamp: string;
  readonly message: string;
  readonly severity: 'info' | 'warn' | 'error';
  readonly attributes: Readonly<Record<string, string>>;
}

export interface DeploymentRecord {
  readonly id: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly serviceId: string;
  status: DeploymentStatus;
  readonly createdAt: Date;
  updatedAt: Date;
  statusUpdatedAt: Date;
  /** Image the deployment runs (the service source at creation). */
  readonly image: string | undefined;
  /** What queued it: `seed`, `variables`, `redeploy`, `deploy`, `restart`. */
  readonly reason: string;
  /** The service's rendered variables when the deployment was created: what the running container sees. */
  readonly variables: Readonly<Record<string, string>>;
  readonly logs: LogRecord[];
}

export interface ProjectTokenRecord {
  readonly id: string;
  readonly token: string;
  readonly name: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly createdAt: Date;
}
