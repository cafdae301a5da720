export { startDigitalOceanApi } from './server';
export type { DigitalOceanApiOptions, DigitalOceanInspection, DigitalOceanSandbox, DropletSnapshot } from './server';
export { ANY_OPERATION, DROPLET_BOOT, DROPLET_LIST_LAG } from './faults';
export type { DigitalOceanFaults } from './faults';
export type { RateLimitOptions } from './rate-limit';
export { DigitalOceanSpec, digitalOceanSpec } from './openapi';
export { sshKeyFingerprint } from './fingerprint';
