import type { DeployResult, DesiredState } from '../../src/shared/deploy';
import type { WORKFLOW_TYPES } from '../../src/shared/installation-messages';

/**
 * Malformed inputs, as an operator types them into `temporal`: each case is the CLI's input arguments and a pattern
 * its one problem must match (naming the field). Valid bases are only ever varied into invalid ones, never sent as
 * such; the test checks that each refusal names exactly one problem, so a base that was not valid shows.
 */
export interface Malformed {
  readonly label: string;
  readonly args: readonly string[];
  readonly names: RegExp;
}

/** 100 000 characters: far above every string bound, still well inside one command-line argument. */
const HUGE = 'x'.repeat(100_000);

const input = (value: unknown) => ['--input', JSON.stringify(value)];

/** The cases every input and message gets: not an object, an extra field, and payloads that cannot be decoded. */
function everywhere(valid: Record<string, unknown>): Malformed[] {
  return [
    { label: 'a string, not an object', args: input('just text'), names: /^input: Invalid input: expected object, received string$/ },
    { label: 'an array, not an object', args: input([1, 2]), names: /^input: Invalid input: expected object, received array$/ },
    { label: 'an extra field', args: input({ ...valid, bogus: true }), names: /^input: Unrecognized key: "bogus"$/ },
    {
      label: 'ciphertext that is not ours',
      args: ['--input', '{}', '--input-meta', 'encoding=binary/encrypted', '--input-meta', 'encryption-key-id=0123456789ab'],
      names: /^input: could not be decoded \(.+\)$/,
    },
    { label: 'an unknown encoding', args: ['--input', '{}', '--input-meta', 'encoding=text/x-forged'], names: /^input: could not be decoded \(unknown encoding "text\/x-forged"\)$/ },
  ];
}

function valueAt(valid: Record<string, unknown>, field: string): unknown {
  return field.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], valid);
}

/** A value of another type than `value`'s (a number for a string, a string for a number or a boolean). */
function wrongType(value: unknown): unknown {
  return typeof value === 'string' ? 42 : String(value);
}

/** `valid` with `field` (a dotted path) set to `value`. */
function withField(valid: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(valid);
  const path = field.split('.');
  let at: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string, unknown>;
  at[path[path.length - 1] as string] = value;
  return copy;
}

const fieldPattern = (field: string) => new RegExp(`^input\\.${field.replace(/\./g, '\\.')}: `);

/** Everywhere's cases, a wrong type and a huge string in `field`, and any cases of the input's own. */
export function malformed(valid: Record<string, unknown>, field: string, own: readonly Malformed[] = []): Malformed[] {
  return [
    ...everywhere(valid),
    { label: `${field} of the wrong type`, args: input(withField(valid, field, wrongType(valueAt(valid, field)))), names: fieldPattern(field) },
    { label: `a huge ${field}`, args: input(withField(valid, field, HUGE)), names: fieldPattern(field) },
    ...own,
  ];
}

/** A message that takes no argument (a query, retire): anything given is refused. */
export function argumentsOfNone(): Malformed[] {
  return [...everywhere({}), { label: 'a number', args: input(5), names: /^input: Invalid input: expected object, received number$/ }];
}

/** Malformed starts of every workflow type; `installed` is a deployed installation's state, for realistic bases. */
export function workflowCases(installed: { desired: DesiredState }): Record<keyof typeof WORKFLOW_TYPES, Malformed[]> {
  const { desired } = installed;
  const migrateBase = {
    installationId: 'door',
    from: desired,
    target: { size: desired.size, region: desired.region, image: desired.image },
    generation: desired.generation + 1,
    healthTimeoutSeconds: 30,
    bootTimeoutSeconds: 30,
  };
  return {
    installation: malformed({ installationId: 'door-new' }, 'installationId', [
      { label: 'a carried state of the wrong shape', args: input({ installationId: 'door-new', carried: carriedWith('all of it') }), names: /^input\.carried\.queue: Invalid input: expected array, received string$/ },
      { label: 'a carried queue with a forged operation', args: input({ installationId: 'door-new', carried: carriedWith([{ kind: 'delete-everything', id: 'x-1', requestedAt: '2026-01-01T00:00:00.000Z' }]) }), names: /^input\.carried\.queue\.0/ },
    ]),
    heal: malformed({ installationId: 'door' }, 'installationId'),
    deploy: malformed({ installationId: 'door-new', region: 'nyc3' }, 'region'),
    deployPlan: malformed({ installationId: 'door-new', size: 's-2vcpu-4gb' }, 'size'),
    migrate: malformed(migrateBase, 'from.droplet.name', [
      { label: 'a generation not above the old one', args: input({ ...migrateBase, generation: desired.generation }), names: /^input\.generation: must be above from\.generation$/ },
    ]),
    teardown: malformed({ installationId: 'door-new', forgetSecrets: false }, 'installationId'),
    logs: malformed({ installationId: 'door', source: 'all' }, 'installationId'),
    controllerCheck: malformed({ reason: 'probe' }, 'reason'),
    configureEmail: malformed(emailBase, 'installationId', [
      { label: 'an SMTP port out of range', args: input({ ...emailBase, settings: { ...emailBase.settings, SMTP_PORT: 70000 } }), names: /^input\.settings\.SMTP_PORT: must be a port number from 1 to 65535$/ },
      { label: 'a FROM_EMAIL that is no address', args: input({ ...emailBase, settings: { ...emailBase.settings, FROM_EMAIL: 'Trigger' } }), names: /^input\.settings\.FROM_EMAIL: must be an email address/ },
      { label: 'an unknown transport', args: input({ ...emailBase, settings: { transport: 'sendgrid' } }), names: /^input\.settings\.transport: must be one of resend, smtp, aws-ses, none/ },
      { label: 'a secret in plain text', args: input({ ...emailBase, settings: { transport: 'resend', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: 'ops@example.com', RESEND_API_KEY: 're_plaintextkey123' } }), names: /^input\.settings\.RESEND_API_KEY: must be a sealed value/ },
    ]),
    emailShow: malformed({ installationId: 'door' }, 'installationId'),
    login: malformed({ installationId: 'door', email: 'you@example.com' }, 'installationId', [
      { label: 'an email that is no address', args: input({ installationId: 'door', email: 'you' }), names: /^input\.email: must be an email address/ },
    ]),
    links: malformed({ installationId: 'door' }, 'installationId', [
      { label: 'a since that is no time', args: input({ installationId: 'door', since: 'yesterday' }), names: /^input\.since: / },
    ]),
    databaseMigrate: malformed({ installationId: 'door', plan: true }, 'installationId', [
      { label: 'a version that is no release tag', args: input({ installationId: 'door', version: 'latest' }), names: /^input\.version: must be a release tag such as "v4\.5\.12"$/ },
    ]),
  };
}

const emailBase = {
  installationId: 'door',
  settings: { transport: 'smtp', FROM_EMAIL: 'login@example.com', REPLY_TO_EMAIL: 'ops@example.com', SMTP_HOST: 'smtp.example.com', SMTP_PORT: 587, SMTP_SECURE: false },
};

/** A carried state that is valid except for its queue. */
function carriedWith(queue: unknown) {
  return {
    desired: null,
    observed: null,
    conditions: [],
    queue,
    recent: [],
    healEvents: [],
    repairTimes: [],
    consecutiveFailures: 0,
    backoffUntil: null,
    settings: { healIntervalSeconds: 60, repairCapPerHour: 6, repairBackoffSeconds: 30, healthTimeoutSeconds: 300, bootTimeoutSeconds: 600, minFreeDiskPercent: 10 },
    runs: 0,
    seq: 0,
    retiring: false,
  };
}

/** Malformed arguments of every signal, update and query, by name; `refusedAs` is how the refusal starts. */
export function messageCases(installed: { result: DeployResult; desired: DesiredState }) {
  const deployed = { result: installed.result, apiUrl: installed.desired.apiUrl, generation: 1 };
  const ended = { deployWorkflowId: 'deploy:door', message: 'rolled back' };
  return {
    signals: {
      upgradeSupervisor: { kind: 'upgrade', refusedAs: 'Invalid upgradeSupervisor input: ', cases: malformed({ version: 'v4.5.12' }, 'version') },
      migrate: { kind: 'migrate', refusedAs: 'Invalid migrate input: ', cases: malformed({ size: 's-4vcpu-8gb', reason: 'more room' }, 'reason') },
      heal: {
        kind: 'heal',
        refusedAs: 'Invalid heal input: ',
        cases: malformed({ source: 'manual' }, 'source', [{ label: 'an unknown source', args: input({ source: 'hacker' }), names: /^input\.source: .*\(accepted: "schedule", "manual", "test"\)$/ }]),
      },
      deployed: { kind: 'adopt', refusedAs: 'Invalid deployed signal: ', cases: malformed(deployed, 'result.droplet.name', [{ label: 'an apiUrl that is no URL', args: input({ ...deployed, apiUrl: 'not a url' }), names: /^input\.apiUrl: / }]) },
      retire: { kind: 'retire', refusedAs: 'Invalid retire signal: it takes no arguments (', cases: argumentsOfNone() },
      tornDown: { kind: 'retire', refusedAs: 'Invalid tornDown signal: it takes no arguments (', cases: argumentsOfNone() },
      deployEnded: { kind: 'deploy', refusedAs: 'Invalid deployEnded signal: ', cases: malformed(ended, 'message') },
    } as Record<string, { kind: string; refusedAs: string; cases: Malformed[] }>,
    updates: {
      upgradeSupervisor: { refusedAs: 'Invalid upgradeSupervisor input: ', cases: malformed({ version: 'v4.5.12' }, 'version', [{ label: 'a floating tag', args: input({ version: 'latest' }), names: /^input\.version: must be a pinned release tag/ }]) },
      migrate: { refusedAs: 'Invalid migrate input: ', cases: malformed({ region: 'fra1' }, 'region') },
      configure: { refusedAs: 'Invalid configure input: ', cases: malformed({ repairCapPerHour: 3 }, 'repairCapPerHour', [{ label: 'a value out of range', args: input({ healIntervalSeconds: 0 }), names: /^input\.healIntervalSeconds: / }]) },
      beginDeploy: { refusedAs: 'Invalid beginDeploy input: ', cases: malformed({ deployWorkflowId: 'deploy:door' }, 'deployWorkflowId') },
    } as Record<string, { refusedAs: string; cases: Malformed[] }>,
    queries: {
      status: { workflowId: 'installation:door', refusedAs: 'Invalid status query: it takes no arguments (', cases: argumentsOfNone() },
      progress: { workflowId: 'deploy:door', refusedAs: 'Invalid progress query: it takes no arguments (', cases: argumentsOfNone() },
    } as Record<string, { workflowId: string; refusedAs: string; cases: Malformed[] }>,
  };
}
