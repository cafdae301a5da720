// Writes vendor/trigger/registry-tags.json: the image tags that really exist for the images a Trigger.dev v4 worker
// host pulls (the supervisor and its docker-socket-proxy, as in upstream's hosting/docker/worker/docker-compose.yml)
// and the webapp, each with the git tag it was built from, that tag's commit and date. Read from bare mirrors of the
// publishing repositories: which git tags publish which image tags is what their release workflows say, and this
// script checks that those workflows still say so (it stops rather than guess when they do not).
//
// Run at vendoring time only:
//   npx tsx scripts/vendor-trigger-registry-tags.ts [trigger.dev git dir] [docker-socket-proxy git dir]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const TRIGGER_REPO = 'triggerdotdev/trigger.dev';
const PROXY_REPO = 'Tecnativa/docker-socket-proxy';
const OUT = join(__dirname, '..', 'vendor', 'trigger', 'registry-tags.json');

/** The release line trigger-ops runs (v4); older lines ship no supervisor image. */
const DOCKER_TAG = /^v\.docker\.(4\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$/;
const PROXY_TAG = /^v(\d+\.\d+\.\d+)$/;

interface GitTag {
  readonly name: string;
  readonly commit: string;
  readonly date: string;
}

function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', gitDir, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function show(gitDir: string, commit: string, path: string): string {
  try {
    return git(gitDir, 'show', `${commit}:${path}`);
  } catch {
    return '';
  }
}

function tags(gitDir: string, pattern: string): GitTag[] {
  return git(gitDir, 'for-each-ref', '--sort=creatordate', '--format=%(refname:short) %(creatordate:iso-strict) %(*objectname)%(objectname)', pattern)
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [name = '', date = '', objects = ''] = line.split(' ');
      // An annotated tag prints its commit then its own id; a lightweight one only the commit.
      return { name, date, commit: objects.slice(0, 40) };
    });
}

function must(condition: boolean, what: string): void {
  if (!condition) throw new Error(`upstream no longer says so, re-read it before vendoring: ${what}`);
}

interface VendoredTag {
  readonly tag: string;
  readonly gitTag: string;
  readonly commit: string;
  readonly date: string;
  readonly prerelease: boolean;
}

function triggerRepositories(gitDir: string) {
  const docker = tags(gitDir, 'refs/tags/v.docker.*').filter((t) => DOCKER_TAG.test(t.name));
  const newest = docker.at(-1);
  must(newest !== undefined, 'v.docker.4.* tags exist');
  const head = newest!.commit;
  // How a git tag becomes an image tag, and which images a release publishes, as of the newest release.
  must(/- "v\.docker\.\*"/.test(show(gitDir, head, '.github/workflows/publish.yml')), 'publish.yml runs on v.docker.* tags');
  must(
    /== v\.docker\.\* \]\]; then\s+version="\$\{GITHUB_REF_NAME#v\.docker\.\}"\s+tag="v\$\{version\}"/.test(show(gitDir, head, '.github/actions/get-image-tag/action.yml')),
    'get-image-tag turns v.docker.X into image tag vX',
  );
  const worker = show(gitDir, head, '.github/workflows/publish-worker-v4.yml');
  const webapp = show(gitDir, head, '.github/workflows/publish-webapp.yml');
  const floating = /=~ \^v4\\\.\[0-9\]\+\\\.\[0-9\]\+\$ \]\]; then\s+image_tags=\$image_tags,\$\w+:v4,\$\w+:latest/;
  must(/package: \[supervisor\]/.test(worker) && floating.test(worker), 'publish-worker-v4.yml pushes supervisor:vX plus v4 and latest for v4.x.y');
  must(/github\.event\.repository\.name/.test(webapp) && floating.test(webapp), 'publish-webapp.yml pushes <repo name>:vX plus v4 and latest for v4.x.y');

  const toVendored = (t: GitTag): VendoredTag => {
    const version = DOCKER_TAG.exec(t.name)?.[1] ?? '';
    return { tag: `v${version}`, gitTag: t.name, commit: t.commit, date: t.date, prerelease: version.includes('-') };
  };
  // A release publishes an image only if its own publish.yml calls that image's workflow.
  const publishes = (t: GitTag, workflow: string) => show(gitDir, t.commit, '.github/workflows/publish.yml').includes(`uses: ./.github/workflows/${workflow}`);
  const files = ['.github/workflows/publish.yml', '.github/actions/get-image-tag/action.yml'];
  return [
    {
      image: 'ghcr.io/triggerdotdev/supervisor',
      publishedBy: { repository: TRIGGER_REPO, commit: head, files: [...files, '.github/workflows/publish-worker-v4.yml'] },
      tags: docker.filter((t) => publishes(t, 'publish-worker-v4.yml')).map(toVendored),
      floating: ['v4', 'latest'],
    },
    {
      image: 'ghcr.io/triggerdotdev/trigger.dev',
      publishedBy: { repository: TRIGGER_REPO, commit: head, files: [...files, '.github/workflows/publish-webapp.yml'] },
      tags: docker.filter((t) => publishes(t, 'publish-webapp.yml')).map(toVendored),
      floating: ['v4', 'latest'],
    },
  ];
}

/**
 * docker-socket-proxy's ci.yml pushes to Docker Hub and GHCR on a `v*` git tag. Up to v0.3.0 it used
 * ghaction-docker-meta@v1, whose `tag-semver: {{version}}` names the image tag without the `v`; from v0.4.0 it names
 * @v4 of that action, which no longer reads `tag-semver`, so which tags those releases pushed is not in the
 * repository: they are left out rather than guessed.
 */
function proxyRepositories(gitDir: string) {
  const known: { tag: VendoredTag; ci: string }[] = tags(gitDir, 'refs/tags/v*')
    .filter((t) => PROXY_TAG.test(t.name))
    .map((t) => ({
      tag: { tag: PROXY_TAG.exec(t.name)?.[1] ?? '', gitTag: t.name, commit: t.commit, date: t.date, prerelease: false },
      ci: show(gitDir, t.commit, '.github/workflows/ci.yml'),
    }));
  const published = known.filter(
    ({ ci }) =>
      /ghaction-docker-meta@v1\b/.test(ci) &&
      /tag-semver: \|\s+\{\{version\}\}/.test(ci) &&
      /ghcr\.io\/\$\{\{ env\.DOCKER_IMAGE_NAME \}\}/.test(ci) &&
      /DOCKERHUB_IMAGE_NAME: tecnativa\/docker-socket-proxy/.test(ci),
  );
  must(published.some((p) => p.tag.tag === '0.3.0'), 'docker-socket-proxy v0.3.0 was published as 0.3.0');
  const newest = published.at(-1)!.tag.commit;
  const publishedBy = { repository: PROXY_REPO, commit: newest, files: ['.github/workflows/ci.yml'] };
  const tagList = published.map((p) => p.tag);
  // `latest` (tag-latest, on by default) is what upstream's worker compose pulls when DOCKER_PROXY_IMAGE_TAG is unset.
  return [
    { image: 'tecnativa/docker-socket-proxy', publishedBy, tags: tagList, floating: ['latest'] },
    { image: 'ghcr.io/tecnativa/docker-socket-proxy', publishedBy, tags: tagList, floating: ['latest'] },
  ];
}

function main(): void {
  const triggerDir = process.argv[2] ?? '/work/.mirror/triggerdotdev+trigger.dev/repo';
  const proxyDir = process.argv[3] ?? '/work/.mirror/Tecnativa+docker-socket-proxy/repo';
  const repositories = [...triggerRepositories(triggerDir), ...proxyRepositories(proxyDir)];
  const vendored = {
    source: {
      read: [
        `https://github.com/${TRIGGER_REPO}: git tags v.docker.4.* (name, commit, creator date) and, at the newest, the workflows that turn them into image tags`,
        `https://github.com/${PROXY_REPO}: git tags v* and .github/workflows/ci.yml at each`,
      ],
      scope:
        'Trigger.dev: every v4 image release, pre-releases included (marked), plus the floating v4 and latest (newest v4.x.y); not main, sha or v4-beta tags. docker-socket-proxy: the releases whose tags its CI at that release names (v0.1.0 to v0.3.0, as 0.1.0 to 0.3.0), plus latest.',
      vendoredAt: new Date().toISOString().slice(0, 10),
    },
    repositories,
  };
  writeFileSync(OUT, `${JSON.stringify(vendored, null, 2)}\n`);
  for (const r of repositories) console.log(`${r.image}: ${r.tags.length} tags, newest ${r.tags.at(-1)?.tag} (${r.tags.at(-1)?.date})`);
}

main();
