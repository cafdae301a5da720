import { notOwned } from '../failures';
import type { RailwayApi, RailwayServiceInstance } from './api';

/** The Trigger.dev template's services, recognised by image or template name. */
export const SERVICE_KINDS = {
  webapp: (s: RailwayServiceInstance) => /triggerdotdev\/trigger\.dev/.test(s.image ?? '') || /^trigger(\.dev)?$/i.test(s.serviceName),
  postgres: (s: RailwayServiceInstance) => /postgres/i.test(`${s.serviceName} ${s.image ?? ''}`),
  redis: (s: RailwayServiceInstance) => /redis/i.test(`${s.serviceName} ${s.image ?? ''}`),
  clickhouse: (s: RailwayServiceInstance) => /clickhouse/i.test(`${s.serviceName} ${s.image ?? ''}`),
  minio: (s: RailwayServiceInstance) => /minio/i.test(`${s.serviceName} ${s.image ?? ''}`),
  registry: (s: RailwayServiceInstance) => /registry/i.test(`${s.serviceName} ${s.image ?? ''}`),
} as const;

/** The Trigger.dev webapp among an environment's services (by its image, else its template name). */
export function findWebappService(services: readonly RailwayServiceInstance[]): RailwayServiceInstance | undefined {
  return services.find(SERVICE_KINDS.webapp);
}

/**
 * The one Railway service trigger-ops writes to (and whose variables reach a droplet): the Trigger.dev webapp of the
 * given environment of the given project. Anything else (another service, an environment of another project) is
 * refused with NotOwned before a variable is read or written.
 */
export async function assertWebappService(
  railway: RailwayApi,
  target: { readonly projectId: string; readonly environmentId: string; readonly serviceId: string },
  installationId: string,
): Promise<void> {
  const environment = await railway.getEnvironment(target.environmentId, target.projectId);
  if (environment.projectId !== target.projectId) {
    throw notOwned(`Railway environment ${target.environmentId}`, installationId, `it is not in project ${target.projectId}`);
  }
  const webapp = findWebappService(environment.serviceInstances);
  if (webapp?.serviceId !== target.serviceId) {
    const what = webapp ? `that is ${webapp.serviceId}` : 'it has none';
    throw notOwned(`Railway service ${target.serviceId}`, installationId, `it is not the Trigger.dev webapp of environment "${environment.name}"; ${what}`);
  }
}
