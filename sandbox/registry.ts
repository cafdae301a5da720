import { z } from 'zod';
import vendored from '../vendor/trigger/registry-tags.json';

/**
 * The sandbox's image registry: the repositories and tags that really exist, as vendored from their publishers'
 * release tags and workflows (vendor/trigger/registry-tags.json, see its SOURCE.md). A pull of anything else is
 * refused with the words the real registry and the Docker CLI use.
 */
const RegistryTags = z.object({
  repositories: z.array(
    z.object({
      image: z.string(),
      tags: z.array(z.object({ tag: z.string(), gitTag: z.string(), commit: z.string(), date: z.string(), prerelease: z.boolean() })),
      /** Tags that follow the newest release (not a pre-release). */
      floating: z.array(z.string()),
    }),
  ),
});

export type RegistryRepository = z.infer<typeof RegistryTags>['repositories'][number];
export type RegistryTag = RegistryRepository['tags'][number];

export const REGISTRY_REPOSITORIES: readonly RegistryRepository[] = RegistryTags.parse(vendored).repositories;

function repository(image: string): RegistryRepository {
  const found = REGISTRY_REPOSITORIES.find((r) => r.image === image);
  if (!found) throw new Error(`${image} is not in vendor/trigger/registry-tags.json`);
  return found;
}

/** Every tag the registry serves for `image`, oldest first, pre-releases included. */
export function registryTags(image: string): readonly RegistryTag[] {
  return repository(image).tags;
}

/** Release tags (no pre-releases) of `image`, oldest first. */
export function releaseTags(image: string): readonly string[] {
  return repository(image).tags.filter((t) => !t.prerelease).map((t) => t.tag);
}

/** The newest release of `image`: what its floating tags (`latest`, `v4`) point at. */
export function newestRelease(image: string): RegistryTag {
  const newest = repository(image).tags.filter((t) => !t.prerelease).at(-1);
  if (!newest) throw new Error(`${image} has no release in vendor/trigger/registry-tags.json`);
  return newest;
}

/** Every `image:tag` the registry serves. */
export function registryImageRefs(): string[] {
  return REGISTRY_REPOSITORIES.flatMap((r) => [...r.tags.map((t) => `${r.image}:${t.tag}`), ...r.floating.map((tag) => `${r.image}:${tag}`)]);
}

/** `ghcr.io/a/b:t` → host `ghcr.io`, name `a/b`; Docker Hub names have no host (`tecnativa/x`, `nginx`). */
function splitRef(ref: string): { host: string | undefined; name: string; tag: string } {
  const at = ref.indexOf('@');
  const withoutDigest = at >= 0 ? ref.slice(0, at) : ref;
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > withoutDigest.lastIndexOf('/');
  const path = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  const tag = at >= 0 ? ref.slice(at + 1) : hasTag ? withoutDigest.slice(colon + 1) : 'latest';
  const [first = '', ...rest] = path.split('/');
  const isHost = rest.length > 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (isHost && first !== 'docker.io') return { host: first, name: rest.join('/'), tag };
  const name = isHost ? rest.join('/') : path;
  return { host: undefined, name: name.replace(/^library\//, ''), tag };
}

/**
 * Why the registry refuses to serve `ref` (normalised, with its tag), in the words `docker pull` prints after
 * "Error response from daemon: "; undefined when it serves it. On GHCR a missing tag is `manifest unknown`, and a
 * missing repository answers an anonymous pull as a private one does (`unauthorized`); Docker Hub names both.
 */
export function pullRefusal(ref: string, served: ReadonlySet<string>): string | undefined {
  if (served.has(ref)) return undefined;
  const { host, name, tag } = splitRef(ref);
  const repo = host ? `${host}/${name}` : name;
  const repositoryKnown = [...served].some((s) => {
    const other = splitRef(s);
    return other.host === host && other.name === name;
  });
  if (host === undefined) {
    return repositoryKnown
      ? `manifest for ${repo}:${tag} not found: manifest unknown: manifest unknown`
      : `pull access denied for ${repo}, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`;
  }
  return repositoryKnown ? 'manifest unknown' : `Head "https://${host}/v2/${name}/manifests/${tag}": unauthorized`;
}
