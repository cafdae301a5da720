// Vendors the Railway CLI's own GraphQL documents (railwayapp/cli src/gql/{queries,mutations,subscriptions}/strings)
// that concern projects, environments, services, variables, deployments, logs and domains, byte for byte, read from
// one commit of a clone (bare or not). test/contract/railway-cli-documents.test.ts replays them against the stand-in.
//
//   npx tsx scripts/vendor-railway-cli-documents.ts <railwayapp/cli git dir> <commit>
//
// To vendor another document, add its file name to DOCUMENTS, run the script and list it in vendor/railway/SOURCE.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'graphql';

export const DOCUMENTS = {
  queries: [
    'BuildLogs',
    'DeploymentLogs',
    'DeploymentStatus',
    'Deployments',
    'Domains',
    'EnvironmentConfig',
    'EnvironmentInstances',
    'EnvironmentStagedChanges',
    'Environments',
    'LatestDeployment',
    'Project',
    'ProjectToken',
    'Projects',
    'ServiceInstance',
    'TcpProxies',
    'UserMeta',
    'UserProjects',
    'VariablesForServiceDeployment',
  ],
  mutations: [
    'CustomDomainCreate',
    'CustomDomainDelete',
    'DeploymentRedeploy',
    'DeploymentRemove',
    'DeploymentRestart',
    'EnvironmentCreate',
    'EnvironmentDelete',
    'EnvironmentPatchCommit',
    'EnvironmentPatchCommitStaged',
    'EnvironmentStageChanges',
    'ServiceCreate',
    'ServiceDelete',
    'ServiceDomainCreate',
    'ServiceDomainDelete',
    'ServiceDomainUpdate',
    'ServiceInstanceDeploy',
    'ServiceInstanceDeployLatestCommit',
    'ServiceInstanceUpdate',
    'TcpProxyDelete',
    'VariableCollectionUpsert',
    'VariableDelete',
  ],
  subscriptions: ['BuildLogs', 'Deployment', 'DeploymentLogs'],
} as const;

export const CLI_DOCUMENTS_DIR = join(__dirname, '..', 'vendor', 'railway', 'cli-documents');

function main(): void {
  const [repo, commit] = process.argv.slice(2);
  if (!repo || !commit) {
    process.stderr.write('usage: npx tsx scripts/vendor-railway-cli-documents.ts <railwayapp/cli git dir> <commit>\n');
    process.exit(2);
  }
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  const full = git('rev-parse', '--verify', `${commit}^{commit}`).trim();
  rmSync(CLI_DOCUMENTS_DIR, { recursive: true, force: true });
  let count = 0;
  for (const [kind, names] of Object.entries(DOCUMENTS)) {
    mkdirSync(join(CLI_DOCUMENTS_DIR, kind), { recursive: true });
    for (const name of names) {
      const text = git('show', `${full}:src/gql/${kind}/strings/${name}.graphql`);
      // A file that does not parse is not worth vendoring: the CLI's build would have failed on it too.
      parse(text);
      writeFileSync(join(CLI_DOCUMENTS_DIR, kind, `${name}.graphql`), text);
      count += 1;
    }
  }
  const date = git('show', '-s', '--format=%cI', full).trim();
  process.stdout.write(`wrote ${count} documents from ${full} (${date}) to ${CLI_DOCUMENTS_DIR}\n`);
}

if (require.main === module) main();
