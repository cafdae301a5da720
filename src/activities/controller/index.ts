import { accessSync, constants, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import type { ControllerCheckResult } from '../../shared/controller-check';

export interface ControllerDeps {
  readonly dataDir: string;
  readonly codecKeyId: string;
}

export function createControllerActivities(deps: ControllerDeps) {
  return {
    async inspectWorker(): Promise<Omit<ControllerCheckResult, 'reason'>> {
      let dataDirWritable = true;
      try {
        mkdirSync(deps.dataDir, { recursive: true });
        accessSync(deps.dataDir, constants.W_OK);
      } catch {
        dataDirWritable = false;
      }
      return {
        workerIdentity: `${process.pid}@${hostname()}`,
        nodeVersion: process.version,
        dataDirWritable,
        codecKeyId: deps.codecKeyId,
        checkedAt: new Date().toISOString(),
      };
    },
  };
}
