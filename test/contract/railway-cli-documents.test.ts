import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  getOperationAST,
  Kind,
  OperationTypeNode,
  parse,
  print,
  validate,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { loadRailwaySchema, NOT_MODELED, startRailwayApi, SUBSCRIPTION_OVER_HTTP, type RailwayApi } from '../../sandbox/railway';
import { waitFor } from '../helpers/wait';

/*
 * Replays the Railway CLI's own documents (vendor/railway/cli-documents, railwayapp/cli 5.43.1) against the stand-in
 * over HTTP, with variables a CLI run on the seeded project would send: each must validate, and its answer must hold
 * every field it selects, or an error saying the sandbox does not model a field listed below.
 */

/** Root fields the stand-in answers with "not modeled", and why. Nothing else may be. */
const NOT_MODELED_FIELDS: Readonly<Record<string, string>> = {
  'Query.environmentStagedChanges': 'staged (uncommitted) environment changes are not modeled',
  'Mutation.environmentStageChanges': 'staged (uncommitted) environment changes are not modeled',
  'Mutation.environmentPatchCommitStaged': 'staged (uncommitted) environment changes are not modeled',
  'Mutation.customDomainCreate': 'custom domains need DNS records and certificates, which the sandbox does not model',
  'Mutation.customDomainDelete': 'custom domains are not modeled (the instances have none)',
};

const DIR = join(__dirname, '..', '..', 'vendor', 'railway', 'cli-documents');
const KINDS = ['queries', 'mutations', 'subscriptions'] as const;
type DocumentKind = (typeof KINDS)[number];

const documents = new Map<string, string>(
  KINDS.flatMap((kind) =>
    readdirSync(join(DIR, kind))
      .filter((f) => f.endsWith('.graphql'))
      .map((f) => [`${kind}/${f.replace(/\.graphql$/, '')}`, readFileSync(join(DIR, kind, f), 'utf8')] as const),
  ),
);

const doc = (kind: DocumentKind, name: string): string => {
  const text = documents.get(`${kind}/${name}`);
  assert.ok(text, `no vendored document ${kind}/${name}`);
  return text;
};

interface Answer {
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly { readonly message: string; readonly path?: readonly (string | number)[] }[];
}

const schema = loadRailwaySchema();

/** Every selected field present in the answer (fragments expanded), walking into lists and objects; nulls end a branch. */
function missingFields(document: DocumentNode, data: unknown): string[] {
  const fragments = new Map(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d] as const),
  );
  const missing: string[] = [];
  const walk = (set: SelectionSetNode, value: unknown, path: string): void => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(set, item, `${path}.${i}`));
      return;
    }
    const object = value as Record<string, unknown>;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        if (!(key in object)) missing.push(`${path}.${key}`);
        else if (s.selectionSet) walk(s.selectionSet, object[key], `${path}.${key}`);
      } else if (s.kind === Kind.INLINE_FRAGMENT) walk(s.selectionSet, value, path);
      else {
        const fragment = fragments.get(s.name.value);
        if (fragment) walk(fragment.selectionSet, value, path);
      }
    }
  };
  const operation = getOperationAST(document);
  assert.ok(operation, 'one operation per document');
  walk(operation.selectionSet, data, 'data');
  return missing;
}

/** The subscription as the query of the same root field: what the CLI would poll without a WebSocket. */
function asQuery(text: string): string {
  return print(
    visit(parse(text), {
      OperationDefinition: (node) => ({ ...node, operation: OperationTypeNode.QUERY }),
    }),
  );
}

describe("the Railway CLI's own documents against the stand-in", () => {
  let api: RailwayApi;
  const replayed = new Set<string>();

  before(async () => {
    // The replay sends in a second what a CLI session spreads over minutes; rate limits have tests of their own.
    api = await startRailwayApi({ deployTimings: { queuedMs: 10, buildingMs: 10, deployingMs: 10 }, rateLimits: [] });
  });
  after(() => api.close());

  const post = async (query: string, variables: Record<string, unknown>, auth: 'account' | 'project' = 'account') => {
    const operationName = getOperationAST(parse(query))?.name?.value;
    const res = await fetch(api.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(auth === 'account' ? { authorization: `Bearer ${api.accountToken}` } : { 'project-access-token': api.projectToken }),
      },
      body: JSON.stringify({ query, variables, operationName }),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Answer;
  };

  /**
   * Validates and sends one vendored document; returns its data. Errors are allowed only with a path (an execution
   * error, never a validation one) and only as "not modeled" for a field of NOT_MODELED_FIELDS.
   */
  const replay = async (
    kind: DocumentKind,
    name: string,
    variables: Record<string, unknown>,
    auth: 'account' | 'project' = 'account',
  ): Promise<Record<string, unknown>> => {
    const text = kind === 'subscriptions' ? asQuery(doc(kind, name)) : doc(kind, name);
    const document = parse(text);
    assert.deepEqual(validate(schema, document).map((e) => e.message), [], `${kind}/${name} validates`);
    replayed.add(`${kind}/${name}`);
    const answer = await post(text, variables, auth);
    for (const e of answer.errors ?? []) {
      assert.ok(e.path, `${kind}/${name}: an error without a path (validation or request): ${e.message}`);
      const field = /^(\w+\.\w+) /.exec(e.message)?.[1] ?? '';
      assert.ok(e.message.includes(NOT_MODELED) && field in NOT_MODELED_FIELDS, `${kind}/${name}: ${e.message}`);
    }
    const errorPaths = (answer.errors ?? []).map((e) => `data.${(e.path ?? []).join('.')}`);
    const missing = missingFields(document, answer.data).filter((m) => !errorPaths.some((p) => m.startsWith(p)));
    assert.deepEqual(missing, [], `${kind}/${name}: every selected field answered`);
    return answer.data ?? {};
  };

  /** A document the sandbox does not model must say so for its one root field, and nothing else. */
  const replayNotModeled = async (kind: DocumentKind, name: string, field: string, variables: Record<string, unknown>) => {
    assert.ok(field in NOT_MODELED_FIELDS);
    const text = doc(kind, name);
    assert.deepEqual(validate(schema, parse(text)).map((e) => e.message), []);
    replayed.add(`${kind}/${name}`);
    const answer = await post(text, variables);
    assert.equal(answer.errors?.length, 1, JSON.stringify(answer.errors));
    assert.match(answer.errors?.[0]?.message ?? '', new RegExp(`^${field.replace('.', '\\.')} ${NOT_MODELED}`));
    assert.ok(answer.errors?.[0]?.path, 'an execution error, with its path');
  };

  const ids = () => ({ projectId: api.projectId, environmentId: api.environmentId });
  const service = (name: keyof RailwayApi['serviceIds']) => ({ ...ids(), serviceId: api.serviceIds[name] });
  const latestId = (name: keyof RailwayApi['serviceIds']) => {
    const d = api.store.latestDeployment(api.environmentId, api.serviceIds[name]);
    assert.ok(d);
    return d.id;
  };
  const nodes = <T>(connection: unknown): T[] => (connection as { edges: { node: T }[] }).edges.map((e) => e.node);
  const status = async (id: string) => ((await replay('queries', 'DeploymentStatus', { id }))['deployment'] as { status: string }).status;
  const settled = (id: string) =>
    waitFor(`deployment ${id} settled`, async () => ((await status(id)) === 'SUCCESS' ? true : undefined));

  describe('queries', () => {
    it('UserMeta, ProjectToken (with the project token), Projects and UserProjects find the seeded project', async () => {
      const me = (await replay('queries', 'UserMeta', {}))['me'] as { id: string; email: string };
      assert.ok(me.id && me.email);
      const token = (await replay('queries', 'ProjectToken', {}, 'project'))['projectToken'] as {
        project: { id: string };
        environment: { name: string };
      };
      assert.equal(token.project.id, api.projectId);
      assert.equal(token.environment.name, 'production');
      const projects = nodes<{ id: string; workspace: { id: string } }>((await replay('queries', 'Projects', {}))['projects']);
      assert.deepEqual(projects.map((p) => p.id), [api.projectId]);
      const inWorkspace = await replay('queries', 'Projects', { workspaceId: projects[0]?.workspace.id });
      assert.equal(nodes(inWorkspace['projects']).length, 1);
      const user = await replay('queries', 'UserProjects', {});
      assert.deepEqual(user['externalWorkspaces'], []);
      const workspaces = (user['me'] as { workspaces: { projects: unknown }[] }).workspaces;
      assert.deepEqual(nodes<{ id: string }>(workspaces[0]?.projects).map((p) => p.id), [api.projectId]);
    });

    it('Project lists the template services and both environments, and no buckets', async () => {
      const project = (await replay('queries', 'Project', { id: api.projectId }))['project'] as Record<string, unknown>;
      assert.deepEqual(nodes<{ name: string }>(project['services']).map((s) => s.name).sort(), [
        'ClickHouse',
        'MinIO',
        'Postgres',
        'Redis',
        'Registry',
        'Trigger.dev',
        'trigger-ops',
      ]);
      assert.deepEqual(nodes<{ name: string }>(project['environments']).map((e) => e.name).sort(), ['production', 'staging']);
      assert.deepEqual(nodes(project['buckets']), []);
    });

    it('Environments, EnvironmentInstances and ServiceInstance describe the production environment', async () => {
      const envs = nodes<{ name: string }>((await replay('queries', 'Environments', { projectId: api.projectId }))['environments']);
      assert.deepEqual(envs.map((e) => e.name).sort(), ['production', 'staging']);
      const ephemeral = await replay('queries', 'Environments', { projectId: api.projectId, isEphemeral: true, first: 10 });
      assert.deepEqual(nodes(ephemeral['environments']), []);
      const env = (await replay('queries', 'EnvironmentInstances', { ...ids(), serviceInstancesFirst: 50 }))['environment'] as {
        serviceInstances: unknown;
        volumeInstances: unknown;
      };
      const instances = nodes<{ serviceName: string; latestDeployment: { status: string }; source: { image: string } }>(env.serviceInstances);
      assert.equal(instances.length, 7);
      assert.ok(instances.every((i) => i.latestDeployment.status === 'SUCCESS' && i.source.image));
      assert.deepEqual(nodes(env.volumeInstances), []);
      const one = await replay('queries', 'ServiceInstance', { environmentId: api.environmentId, serviceId: api.serviceIds.webapp });
      assert.ok((one['serviceInstance'] as { id: string }).id);
    });

    it('EnvironmentConfig shows each service with its variables, values only when decrypted', async () => {
      const config = (decrypted: boolean) =>
        replay('queries', 'EnvironmentConfig', { id: api.environmentId, decryptVariables: decrypted }).then(
          (d) => (d['environment'] as { config: { services: Record<string, { variables: Record<string, { value?: string }> }> } }).config,
        );
      const open = await config(true);
      assert.equal(Object.keys(open.services).length, 7);
      assert.equal(open.services[api.serviceIds.postgres]?.variables['PGPORT']?.value, '5432');
      const sealed = await config(false);
      assert.deepEqual(sealed.services[api.serviceIds.postgres]?.variables['PGPORT'], {});
    });

    it('VariablesForServiceDeployment renders references as the deployment sees them', async () => {
      const vars = (await replay('queries', 'VariablesForServiceDeployment', service('webapp')))['variablesForServiceDeployment'] as Record<string, string>;
      assert.match(vars['DATABASE_URL'] ?? '', /^postgresql:\/\/postgres:[A-Za-z0-9]+@postgres\.railway\.internal:5432\//);
      assert.equal(vars['RAILWAY_SERVICE_NAME'], 'Trigger.dev');
    });

    it('Deployments, LatestDeployment, DeploymentStatus, DeploymentLogs and BuildLogs read the webapp deployment', async () => {
      const list = nodes<{ id: string; status: string }>(
        (await replay('queries', 'Deployments', { input: { ...service('webapp') }, first: 5 }))['deployments'],
      );
      assert.equal(list[0]?.id, latestId('webapp'));
      const latest = (await replay('queries', 'LatestDeployment', { environmentId: api.environmentId, serviceId: api.serviceIds.webapp }))[
        'serviceInstance'
      ] as { latestDeployment: { id: string; status: string } };
      assert.equal(latest.latestDeployment.id, latestId('webapp'));
      assert.equal(await status(latestId('webapp')), 'SUCCESS');
      const logs = (await replay('queries', 'DeploymentLogs', { deploymentId: latestId('webapp'), limit: 100 }))['deploymentLogs'] as {
        message: string;
      }[];
      assert.ok(logs.some((l) => l.message === 'Starting Container'));
      // Image deployments have no build step.
      assert.deepEqual((await replay('queries', 'BuildLogs', { deploymentId: latestId('webapp'), limit: 100 }))['buildLogs'], []);
    });

    it('Domains and TcpProxies list what the template exposes', async () => {
      const domains = (await replay('queries', 'Domains', service('webapp')))['domains'] as { serviceDomains: unknown[]; customDomains: unknown[] };
      assert.equal(domains.serviceDomains.length, 1);
      assert.deepEqual(domains.customDomains, []);
      const proxies = (await replay('queries', 'TcpProxies', { environmentId: api.environmentId, serviceId: api.serviceIds.postgres }))[
        'tcpProxies'
      ] as { applicationPort: number }[];
      assert.deepEqual(proxies.map((p) => p.applicationPort), [5432]);
    });

    it('EnvironmentStagedChanges says staged changes are not modeled', async () => {
      await replayNotModeled('queries', 'EnvironmentStagedChanges', 'Query.environmentStagedChanges', { environmentId: api.environmentId });
    });
  });

  describe('subscriptions: refused over HTTP, answered as the query of the same field', () => {
    for (const name of ['Deployment', 'DeploymentLogs', 'BuildLogs']) {
      it(name, async () => {
        const text = doc('subscriptions', name);
        assert.deepEqual(validate(schema, parse(text)).map((e) => e.message), []);
        const variables = name === 'Deployment' ? { id: latestId('webapp') } : { deploymentId: latestId('webapp'), limit: 10 };
        const refused = await post(text, variables);
        assert.equal(refused.data, undefined);
        assert.deepEqual(refused.errors?.map((e) => e.message), [SUBSCRIPTION_OVER_HTTP]);
        const data = await replay('subscriptions', name, variables);
        assert.ok(Object.keys(data).length === 1);
      });
    }
  });

  describe('mutations change the store, as a following query shows', () => {
    it('VariableCollectionUpsert and VariableDelete', async () => {
      const vars = async () =>
        (await replay('queries', 'VariablesForServiceDeployment', service('redis')))['variablesForServiceDeployment'] as Record<string, string>;
      const upsert = await replay('mutations', 'VariableCollectionUpsert', {
        ...service('redis'),
        variables: { CLI_REPLAY: 'one' },
        skipDeploys: true,
      });
      assert.equal(upsert['variableCollectionUpsert'], true);
      assert.equal((await vars())['CLI_REPLAY'], 'one');
      await replay('mutations', 'VariableDelete', { ...service('redis'), name: 'CLI_REPLAY' });
      assert.equal((await vars())['CLI_REPLAY'], undefined);
    });

    it('ServiceInstanceUpdate', async () => {
      await replay('mutations', 'ServiceInstanceUpdate', {
        serviceId: api.serviceIds.redis,
        environmentId: api.environmentId,
        input: { startCommand: 'redis-server --appendonly yes', numReplicas: 2 },
      });
      const env = (await replay('queries', 'EnvironmentInstances', ids()))['environment'] as { serviceInstances: unknown };
      const redis = nodes<{ serviceId: string; startCommand: string; numReplicas: number }>(env.serviceInstances).find(
        (i) => i.serviceId === api.serviceIds.redis,
      );
      assert.equal(redis?.startCommand, 'redis-server --appendonly yes');
      assert.equal(redis?.numReplicas, 2);
    });

    it('ServiceInstanceDeploy, ServiceInstanceDeployLatestCommit, DeploymentRedeploy, DeploymentRemove', async () => {
      const latest = async () =>
        ((await replay('queries', 'LatestDeployment', { environmentId: api.environmentId, serviceId: api.serviceIds.redis }))['serviceInstance'] as {
          latestDeployment: { id: string };
        }).latestDeployment.id;
      const target = { environmentId: api.environmentId, serviceId: api.serviceIds.redis };
      const deployed = (await replay('mutations', 'ServiceInstanceDeploy', target))['serviceInstanceDeployV2'] as string;
      assert.equal(await latest(), deployed);
      await settled(deployed);
      assert.equal((await replay('mutations', 'ServiceInstanceDeployLatestCommit', target))['serviceInstanceDeploy'], true);
      const fromCommit = await latest();
      assert.notEqual(fromCommit, deployed);
      await settled(fromCommit);
      const redeployed = ((await replay('mutations', 'DeploymentRedeploy', { id: fromCommit }))['deploymentRedeploy'] as { id: string }).id;
      assert.equal(await latest(), redeployed);
      await settled(redeployed);
      assert.equal((await replay('mutations', 'DeploymentRemove', { id: redeployed }))['deploymentRemove'], true);
      assert.equal(await status(redeployed), 'REMOVED');
    });

    it('DeploymentRestart', async () => {
      const id = latestId('clickhouse');
      assert.equal((await replay('mutations', 'DeploymentRestart', { id }))['deploymentRestart'], true);
      const logs = (await replay('queries', 'DeploymentLogs', { deploymentId: id }))['deploymentLogs'] as { message: string }[];
      assert.ok(logs.some((l) => l.message === 'Restarting container'));
    });

    it('ServiceDomainCreate, ServiceDomainUpdate, ServiceDomainDelete, TcpProxyDelete', async () => {
      const domains = async () =>
        ((await replay('queries', 'Domains', service('clickhouse')))['domains'] as { serviceDomains: { id: string; domain: string; targetPort: number }[] })
          .serviceDomains;
      const created = (await replay('mutations', 'ServiceDomainCreate', {
        environmentId: api.environmentId,
        serviceId: api.serviceIds.clickhouse,
        targetPort: 8123,
      }))['serviceDomainCreate'] as { id: string; domain: string };
      assert.match(created.domain, /^clickhouse-production-[0-9a-f]{4}\.up\.railway\.app$/);
      assert.deepEqual((await domains()).map((d) => d.id), [created.id]);
      await replay('mutations', 'ServiceDomainUpdate', {
        input: { environmentId: api.environmentId, serviceId: api.serviceIds.clickhouse, serviceDomainId: created.id, domain: 'clickhouse-replay.up.railway.app', targetPort: 8443 },
      });
      assert.deepEqual((await domains()).map((d) => [d.domain, d.targetPort]), [['clickhouse-replay.up.railway.app', 8443]]);
      await replay('mutations', 'ServiceDomainDelete', { id: created.id });
      assert.deepEqual(await domains(), []);

      const proxies = async () =>
        (await replay('queries', 'TcpProxies', { environmentId: api.environmentId, serviceId: api.serviceIds.redis }))['tcpProxies'] as { id: string }[];
      const [proxy] = await proxies();
      assert.ok(proxy);
      await replay('mutations', 'TcpProxyDelete', { id: proxy.id });
      assert.deepEqual(await proxies(), []);
    });

    it('ServiceCreate and ServiceDelete', async () => {
      const names = async () =>
        nodes<{ name: string }>(((await replay('queries', 'Project', { id: api.projectId }))['project'] as { services: unknown }).services).map(
          (s) => s.name,
        );
      const created = (await replay('mutations', 'ServiceCreate', {
        ...ids(),
        name: 'cli-replay',
        source: { image: 'nginx:1.27' },
        variables: { GREETING: 'hello' },
      }))['serviceCreate'] as { id: string; name: string };
      assert.equal(created.name, 'cli-replay');
      assert.ok((await names()).includes('cli-replay'));
      const vars = (await replay('queries', 'VariablesForServiceDeployment', { ...ids(), serviceId: created.id }))['variablesForServiceDeployment'] as Record<
        string,
        string
      >;
      assert.equal(vars['GREETING'], 'hello');
      await replay('mutations', 'ServiceDelete', { environmentId: api.environmentId, serviceId: created.id });
      assert.ok(!(await names()).includes('cli-replay'));
    });

    it('EnvironmentCreate (duplicating production) and EnvironmentDelete', async () => {
      const names = async () =>
        nodes<{ name: string }>((await replay('queries', 'Environments', { projectId: api.projectId }))['environments']).map((e) => e.name);
      const created = (await replay('mutations', 'EnvironmentCreate', {
        projectId: api.projectId,
        name: 'cli-replay',
        sourceId: api.environmentId,
      }))['environmentCreate'] as { id: string; name: string };
      assert.ok((await names()).includes('cli-replay'));
      const vars = (await replay('queries', 'VariablesForServiceDeployment', {
        projectId: api.projectId,
        environmentId: created.id,
        serviceId: api.serviceIds.postgres,
      }))['variablesForServiceDeployment'] as Record<string, string>;
      assert.equal(vars['RAILWAY_ENVIRONMENT_NAME'], 'cli-replay');
      assert.equal(vars['POSTGRES_DB'], 'railway');
      assert.equal((await replay('mutations', 'EnvironmentDelete', { id: created.id }))['environmentDelete'], true);
      assert.ok(!(await names()).includes('cli-replay'));
    });

    it('EnvironmentPatchCommit applies variables and replicas, as EnvironmentConfig then shows', async () => {
      const patch = { services: { [api.serviceIds.minio]: { variables: { PATCHED: { value: 'yes' } }, deploy: { numReplicas: 3 } } } };
      const committed = await replay('mutations', 'EnvironmentPatchCommit', { environmentId: api.environmentId, patch, commitMessage: 'replay' });
      assert.equal(typeof committed['environmentPatchCommit'], 'string');
      const config = ((await replay('queries', 'EnvironmentConfig', { id: api.environmentId, decryptVariables: true }))['environment'] as {
        config: { services: Record<string, { variables: Record<string, { value: string }>; deploy: { numReplicas: number } }> };
      }).config;
      assert.equal(config.services[api.serviceIds.minio]?.variables['PATCHED']?.value, 'yes');
      assert.equal(config.services[api.serviceIds.minio]?.deploy.numReplicas, 3);
    });

    it('the staged-changes and custom-domain mutations say they are not modeled', async () => {
      const environmentId = api.environmentId;
      await replayNotModeled('mutations', 'EnvironmentStageChanges', 'Mutation.environmentStageChanges', { environmentId, input: {} });
      await replayNotModeled('mutations', 'EnvironmentPatchCommitStaged', 'Mutation.environmentPatchCommitStaged', { environmentId });
      await replayNotModeled('mutations', 'CustomDomainCreate', 'Mutation.customDomainCreate', {
        input: { ...service('webapp'), domain: 'trigger.example.com' },
      });
      await replayNotModeled('mutations', 'CustomDomainDelete', 'Mutation.customDomainDelete', { id: '00000000-0000-4000-8000-000000000000' });
    });
  });

  it('every vendored document was replayed', () => {
    assert.equal(documents.size, 42);
    assert.deepEqual([...documents.keys()].filter((k) => !replayed.has(k)), []);
  });
});
