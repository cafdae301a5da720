export { createDigitalOceanApi, DEFAULT_DIGITALOCEAN_API_URL } from './client';
export type {
  Account,
  Action,
  ActionStatus,
  CreateDropletInput,
  CreateFirewallInput,
  DigitalOceanApi,
  DigitalOceanClientOptions,
  Droplet,
  DropletActionRequest,
  DropletStatus,
  Firewall,
  FirewallRule,
  Image,
  Region,
  Size,
  SshKey,
} from './client';
export { DigitalOceanApiError, toDigitalOceanError, toDigitalOceanFailure } from './errors';
