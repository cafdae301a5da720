import { resourceNames } from '../../shared/ids';
import { notOwned } from '../failures';
import type { DigitalOceanApi, Droplet } from './client';
import { DigitalOceanApiError } from './errors';

/**
 * What belongs to an installation at DigitalOcean: a droplet carries its tag AND is named `tops-<id>-g<N>`; a
 * firewall or an SSH key (DigitalOcean cannot tag keys) has its exact name. Every activity that deletes, powers or
 * reconfigures a resource checks this first, so a forged input never reaches another installation's resources.
 */

/** Why a droplet is not the installation's, or undefined when it is. */
export function dropletNotOwnedBecause(droplet: Pick<Droplet, 'name' | 'tags'>, installationId: string): string | undefined {
  const names = resourceNames(installationId);
  const problems = [
    ...(droplet.tags.includes(names.tag) ? [] : [`it lacks the tag ${names.tag}`]),
    ...(names.generationOf(droplet.name) === undefined ? [`its name is not ${names.dropletPattern}`] : []),
  ];
  return problems.length > 0 ? problems.join(' and ') : undefined;
}

export function describeDroplet(droplet: Pick<Droplet, 'id' | 'name'>): string {
  return `droplet ${droplet.id} ("${droplet.name}")`;
}

/** The droplet once it is known to be the installation's; undefined when it does not exist (any more). */
export async function ownedDroplet(api: DigitalOceanApi, installationId: string, dropletId: number): Promise<Droplet | undefined> {
  let droplet: Droplet;
  try {
    droplet = await api.getDroplet(dropletId);
  } catch (err) {
    if (err instanceof DigitalOceanApiError && err.status === 404) return undefined;
    throw err;
  }
  const why = dropletNotOwnedBecause(droplet, installationId);
  if (why) throw notOwned(describeDroplet(droplet), installationId, why);
  return droplet;
}
