import type { Config } from '../config';
import { resolveAdminToken } from './admin-token';
import { installationIdSchema } from '../shared/ids';
import { desiredFromConfig } from './desired-state';
import { startControllerHttp, type ControllerHttp } from './http-server';
import { startController, type RunningController } from '.';
import { controllerProviders, lateProviders } from './probes';
import { startReconciler, type Reconciler } from './reconciler';

export interface ControllerService {
  readonly controller: RunningController;
  readonly reconciler: Reconciler;
  readonly http: ControllerHttp;
  readonly installationId: string;
  /** Stops the reconciler between steps, then the HTTP server, then the worker (its running activities get their grace time). */
  stop(): Promise<void>;
}

export interface ControllerServiceOptions {
  /** The installation when TRIGGER_OPS_INSTALLATION is unset (`default`; `sandbox` for npm start). */
  readonly defaultInstallation: string;
  readonly log: (message: string) => void;
  /** Interface the HTTP server listens on (all of them by default: Railway routes to $PORT from outside). */
  readonly host?: string;
  /** Runs once the worker polls, before the reconciler looks at the installation. */
  readonly beforeReconcile?: (controller: RunningController) => Promise<void>;
}

/**
 * `trigger-ops controller`: Temporal (embedded unless TEMPORAL_ADDRESS is set) and a worker, the secret store refilled
 * from its Railway copy, the HTTP side on $PORT (/healthz, /status, the status page), and the reconciler that makes
 * the installation match the environment. A bad token or desired state never stops it: the reason is on the page,
 * in /status and in the log, and /healthz stays about the controller itself.
 */
export async function startControllerService(config: Config, options: ControllerServiceOptions): Promise<ControllerService> {
  const { log } = options;
  const desired = desiredFromConfig(config, options.defaultInstallation);
  const named = installationIdSchema.safeParse(config.controller.installation ?? options.defaultInstallation);
  const installationId = 'desired' in desired ? desired.desired.installationId : named.success ? named.data : options.defaultInstallation;
  // HTTP first: Railway's health check and the status page answer (503, "starting") from the first second.
  const admin = resolveAdminToken(config, log);
  const late = lateProviders(installationId);
  const http = await startControllerHttp({
    port: config.httpPort,
    ...(options.host !== undefined && { host: options.host }),
    adminToken: admin.token,
    health: late.health,
    status: late.status,
    log,
  });
  log(`HTTP on ${http.url}: /healthz (open), /status and the status page (admin token)`);
  let controller: RunningController;
  try {
    controller = await startController(config, log);
  } catch (err) {
    late.fail(err instanceof Error ? err.message : String(err));
    await http.close();
    throw err;
  }
  try {
    const secretsProblem = await restoreSecrets(controller, config, log);
    await options.beforeReconcile?.(controller);
    const reconciler = startReconciler({
      client: controller.client,
      taskQueue: config.temporal.taskQueue,
      desired,
      railway: { projectId: config.railway.projectId, environmentId: config.railway.environmentId },
      log,
      pollMs: Math.min(2000, config.pollIntervalMs),
    });
    late.attach(controllerProviders(controller, installationId, {
      config,
      configurationError: () => reconciler.state().problem ?? secretsProblem,
      reconciler: () => reconciler.state(),
    }));
    let stopping: Promise<void> | undefined;
    return {
      controller,
      reconciler,
      http,
      installationId,
      stop: () =>
        (stopping ??= (async () => {
          await reconciler.stop();
          await http.close();
          await controller.stop();
        })()),
    };
  } catch (err) {
    await http.close();
    await controller.stop();
    throw err;
  }
}

/**
 * A boot with an empty volume gets its keys and tokens back from the Railway copy. Returns what needs a person, if
 * anything: a copy that cannot be read, or none kept at all while running on Railway.
 */
async function restoreSecrets(controller: RunningController, config: Config, log: (m: string) => void): Promise<string | null> {
  const { restore } = controller.secrets;
  if (!restore) {
    if (config.railway.serviceId && !config.secretKey) {
      log('secrets: TRIGGER_OPS_SECRET_KEY is not set, so the secret store lives only on this volume (a lost volume means a new droplet key)');
    }
    return null;
  }
  try {
    const { restored, unreadable } = await restore();
    log(restored > 0 ? `secrets: recovered ${restored} from the encrypted copy on Railway` : 'secrets: the local store is complete (encrypted copy on Railway)');
    if (unreadable.length === 0) return null;
    return `secrets: ${unreadable.length} encrypted copies on Railway do not open with TRIGGER_OPS_SECRET_KEY (${unreadable.join(', ')}): was the key changed? Set it back, or delete those variables.`;
  } catch (err) {
    const problem = `secrets: the encrypted copy on Railway could not be read (${err instanceof Error ? err.message : String(err)})`;
    log(problem);
    return problem;
  }
}
