import { startRailwayApi, type RailwayApi, type RailwayApiOptions } from './railway';
import { reserveWebapp, type Webapp, type WebappOptions } from './webapp';

export interface TriggerPlatformOptions {
  /** Railway stand-in options; the seed's webapp origin is always the webapp stand-in's address. */
  readonly railway?: RailwayApiOptions;
  readonly webapp?: Omit<WebappOptions, 'railway'>;
}

export interface TriggerPlatform {
  readonly railway: RailwayApi;
  readonly webapp: Webapp;
  close(): Promise<void>;
}

/**
 * Railway and the Trigger.dev webapp it hosts, consistent with each other: the webapp's port is bound first, so
 * APP_ORIGIN/API_ORIGIN and the service domain on Railway are where the webapp really listens.
 */
export async function startTriggerPlatform(options: TriggerPlatformOptions = {}): Promise<TriggerPlatform> {
  const { host, port, ...webappOptions } = options.webapp ?? {};
  const reserved = await reserveWebapp({ ...(host !== undefined && { host }), ...(port !== undefined && { port }) });
  let railway: RailwayApi;
  try {
    railway = await startRailwayApi({
      ...options.railway,
      seed: { ...options.railway?.seed, webappOrigin: reserved.url },
    });
  } catch (err) {
    await reserved.close();
    throw err;
  }
  const webapp = reserved.start({ ...webappOptions, railway });
  return {
    railway,
    webapp,
    close: async () => {
      await webapp.close();
      await railway.close();
    },
  };
}
