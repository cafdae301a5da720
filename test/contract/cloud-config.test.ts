// Every variant of the droplet user data against the vendored cloud-init schema, plus what it must and must not
// carry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { AGENT_INSTALL_PATH, readAgentScript } from '../../src/remote/agent-script';
import {
  buildCloudConfig,
  DOCKER_DAEMON_CONFIG_PATH,
  METADATA_BLOCK_COMMAND,
  METADATA_BLOCK_DROP_IN_PATH,
  redactUserData,
  type CloudConfigInput,
} from '../../src/remote/cloud-config';
import { validateCloudConfig } from '../../src/remote/cloud-config-schema';
import { generateEd25519KeyPair } from '../../src/remote/keys';

interface WriteFile {
  path: string;
  content: string;
  permissions?: string;
  owner?: string;
}

const agentScript = readAgentScript();
const controller = generateEd25519KeyPair('trigger-ops-controller');
const hostKey = generateEd25519KeyPair('tops-prod-host');

function input(overrides: Partial<CloudConfigInput> = {}): CloudConfigInput {
  return {
    installationId: 'prod',
    controllerPublicKey: controller.publicKey,
    hostKey,
    agentScript,
    docker: 'preinstalled',
    ...overrides,
  };
}

const variants: ReadonlyArray<readonly [string, CloudConfigInput]> = [
  ['preinstalled Docker (1-Click image)', input()],
  ['Docker from packages', input({ docker: 'packages' })],
  ['custom log rotation', input({ docker: 'packages', logMaxSize: '100m', logMaxFile: 3 })],
  ['another installation and keys', input({ installationId: 'staging-2', hostKey: generateEd25519KeyPair('h2') })],
];

function parsed(userData: string): Record<string, unknown> {
  return parse(userData) as Record<string, unknown>;
}

function writeFiles(userData: string): WriteFile[] {
  return parsed(userData)['write_files'] as WriteFile[];
}

describe('cloud-config user data', () => {
  for (const [name, variant] of variants) {
    describe(name, () => {
      const userData = buildCloudConfig(variant);

      it('validates against the cloud-init schema', () => {
        const result = validateCloudConfig(userData);
        assert.deepEqual(result.valid ? [] : result.errors, []);
      });

      it('installs the agent script, byte for byte, executable', () => {
        const agent = writeFiles(userData).find((f) => f.path === AGENT_INSTALL_PATH);
        assert.ok(agent, 'agent in write_files');
        assert.equal(agent.content, variant.agentScript);
        assert.equal(agent.permissions, '0755');
      });

      it('uses absolute real-droplet paths for every file', () => {
        for (const f of writeFiles(userData)) assert.match(f.path, /^\/(etc|usr)\//);
      });

      it('pins the host key, authorizes the controller for root, and disables passwords', () => {
        const doc = parsed(userData);
        assert.equal(doc['ssh_pwauth'], false);
        assert.equal(doc['disable_root'], false);
        assert.deepEqual(doc['ssh_authorized_keys'], [controller.publicKey]);
        assert.deepEqual(doc['ssh_keys'], {
          ed25519_private: variant.hostKey.privateKey,
          ed25519_public: variant.hostKey.publicKey,
        });
        assert.equal(doc['ssh_deletekeys'], true);
      });

      it('rotates Docker logs daemon-wide', () => {
        const daemon = writeFiles(userData).find((f) => f.path === DOCKER_DAEMON_CONFIG_PATH);
        assert.ok(daemon);
        const config = JSON.parse(daemon.content) as { 'log-driver': string; 'log-opts': Record<string, string> };
        assert.equal(config['log-driver'], 'local');
        assert.equal(config['log-opts']['max-size'], variant.logMaxSize ?? '20m');
        assert.equal(config['log-opts']['max-file'], String(variant.logMaxFile ?? 5));
      });

      it('keeps containers away from the metadata service, now and after every Docker start', () => {
        assert.match(METADATA_BLOCK_COMMAND, /iptables -I DOCKER-USER -d 169\.254\.169\.254\/32 -j DROP/);
        const dropIn = writeFiles(userData).find((f) => f.path === METADATA_BLOCK_DROP_IN_PATH);
        assert.ok(dropIn);
        assert.ok(dropIn.content.includes(`ExecStartPost=/bin/sh -c '${METADATA_BLOCK_COMMAND}'`));
        const runcmd = parsed(userData)['runcmd'] as string[][];
        assert.deepEqual(runcmd.at(-1), ['sh', '-c', METADATA_BLOCK_COMMAND]);
      });

      it('installs Docker only when the image lacks it', () => {
        const doc = parsed(userData);
        if (variant.docker === 'packages') {
          assert.deepEqual(doc['packages'], ['docker.io', 'docker-compose-v2']);
        } else {
          assert.equal(doc['packages'], undefined);
        }
      });

      it('carries no installation secret; the only private key is the host key, and redaction removes it', () => {
        for (const pattern of [/tr_wgt_/, /tr_pat_/, /dop_v1_/, /MANAGED_WORKER_SECRET/, /TRIGGER_WORKER_TOKEN/, /PASSWORD/i]) {
          assert.doesNotMatch(userData.replace(agentScript, ''), pattern);
        }
        assert.equal(userData.match(/BEGIN OPENSSH PRIVATE KEY/g)?.length, 1);
        assert.ok(!userData.includes(controller.privateKey.trim()), 'controller private key absent');
        const redacted = redactUserData(userData);
        assert.doesNotMatch(redacted, /PRIVATE KEY-----/);
        assert.ok(!redacted.includes(variant.hostKey.privateKey.trim().split('\n').at(-2)!));
      });
    });
  }

  it('refuses input that would produce a broken or unsafe droplet, naming the field', () => {
    assert.throws(() => buildCloudConfig(input({ installationId: 'Prod!' })), /input\.installationId/);
    assert.throws(() => buildCloudConfig(input({ controllerPublicKey: 'ssh-rsa AAAAB3 x' })), /input\.controllerPublicKey/);
    assert.throws(
      () => buildCloudConfig(input({ hostKey: { privateKey: 'not a key', publicKey: hostKey.publicKey } })),
      /input\.hostKey\.privateKey/,
    );
    assert.throws(() => buildCloudConfig(input({ agentScript: 'echo hi' })), /input\.agentScript/);
    assert.throws(() => buildCloudConfig(input({ logMaxSize: '20 MB' })), /input\.logMaxSize/);
    assert.throws(
      () => buildCloudConfig({ ...input(), workerToken: 'tr_wgt_x' } as CloudConfigInput),
      /Unrecognized key/,
    );
  });
});
