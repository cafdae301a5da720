import { parseArgs } from 'node:util';
import { loadConfig, redact } from './config';
import { startController } from './local/controller';
import { workflowIds } from './shared/ids';
import { controllerCheck } from './workflows';

/**
 * `npm start`: brings up everything on this machine (the embedded Temporal server unless TEMPORAL_ADDRESS is set,
 * and a worker), runs a real workflow end to end, prints where to look, and keeps the controller running.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { once: { type: 'boolean', default: false } } });
  const log = (m: string) => process.stdout.write(`• ${m}\n`);
  const config = loadConfig(process.env);
  log(`configuration: ${JSON.stringify(redact(config))}`);
  const controller = await startController(config, log);
  let exitCode = 0;
  try {
    log(`worker polling task queue "${config.temporal.taskQueue}" on ${controller.temporal.address}`);
    const result = await controller.client.workflow.execute(controllerCheck, {
      taskQueue: config.temporal.taskQueue,
      workflowId: workflowIds.controllerCheck(),
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      args: [{ reason: 'npm start' }],
    });
    log(`controller check passed: worker ${result.workerIdentity}, node ${result.nodeVersion}, codec key ${result.codecKeyId}`);
    if (controller.temporal.uiUrl) {
      log(`Temporal UI: ${controller.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows`);
    }
  } catch (err) {
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    exitCode = 1;
  }
  if (values.once || exitCode !== 0) {
    await controller.stop();
    return exitCode;
  }
  log('controller running; press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  log('stopping…');
  await controller.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
