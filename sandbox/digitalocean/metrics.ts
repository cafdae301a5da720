import { findSize } from './catalog';
import type { DropletRecord } from './state';

/**
 * The monitoring API's droplet metrics (`/v2/monitoring/metrics/droplet/*`), as the metrics agent would report an
 * idle droplet of its size: a Prometheus-style matrix, one point a minute from `start` to `end` (epoch seconds).
 * A droplet created without `monitoring: true` has no agent and so no series, as on DigitalOcean.
 */

export const DROPLET_METRICS = [
  'bandwidth',
  'cpu',
  'filesystem_free',
  'filesystem_size',
  'load_1',
  'load_5',
  'load_15',
  'memory_cached',
  'memory_free',
  'memory_total',
  'memory_available',
] as const;
export type DropletMetric = (typeof DROPLET_METRICS)[number];

/** How busy a droplet is (0–1): the sandbox's droplets idle unless a test says otherwise. */
export interface Utilization {
  readonly cpu: number;
  readonly memory: number;
}
export const IDLE: Utilization = { cpu: 0.05, memory: 0.3 };

const STEP_SECONDS = 60;
const MAX_POINTS = 1_440;
const CPU_MODES = ['user', 'system', 'iowait', 'nice', 'irq', 'softirq', 'steal'] as const;

interface Series {
  readonly metric: Record<string, string>;
  readonly values: (number | string)[][];
}

export function dropletMetrics(
  metric: DropletMetric,
  droplet: DropletRecord | undefined,
  query: { readonly start: number; readonly end: number; readonly interface?: string | undefined; readonly direction?: string | undefined },
  utilization: Utilization,
): { status: 'success'; data: { resultType: 'matrix'; result: Series[] } } {
  const result: Series[] = [];
  if (droplet?.monitoring) {
    const size = findSize(droplet.size);
    const vcpus = size?.vcpus ?? 1;
    const memoryBytes = (size?.memory ?? 1024) * 1024 * 1024;
    const diskBytes = (size?.disk ?? 25) * 1024 ** 3;
    const born = Date.parse(droplet.createdAt) / 1000;
    const times: number[] = [];
    for (let t = Math.max(query.start, Math.ceil(born)); t <= query.end && times.length < MAX_POINTS; t += STEP_SECONDS) times.push(t);
    const hostId = String(droplet.id);
    const series = (labels: Record<string, string>, value: (t: number) => number) =>
      result.push({ metric: { host_id: hostId, ...labels }, values: times.map((t) => [t, String(Number(value(t).toFixed(3)))]) });
    const up = (t: number) => Math.max(0, t - born);
    switch (metric) {
      case 'cpu': {
        // Counters of CPU seconds by mode, as node_cpu_seconds_total summed over the droplet's vCPUs.
        series({ mode: 'idle' }, (t) => up(t) * vcpus * (1 - utilization.cpu));
        for (const mode of CPU_MODES) {
          const share = mode === 'user' ? 0.7 : mode === 'system' ? 0.2 : 0.1 / (CPU_MODES.length - 2);
          series({ mode }, (t) => up(t) * vcpus * utilization.cpu * share);
        }
        break;
      }
      case 'memory_total':
        series({}, () => memoryBytes);
        break;
      case 'memory_available':
        series({}, () => memoryBytes * (1 - utilization.memory));
        break;
      case 'memory_free':
        series({}, () => memoryBytes * (1 - utilization.memory) * 0.6);
        break;
      case 'memory_cached':
        series({}, () => memoryBytes * (1 - utilization.memory) * 0.3);
        break;
      case 'load_1':
      case 'load_5':
      case 'load_15':
        series({}, () => vcpus * utilization.cpu);
        break;
      case 'filesystem_size':
        series({ device: '/dev/vda1', fstype: 'ext4', mountpoint: '/' }, () => diskBytes);
        break;
      case 'filesystem_free':
        series({ device: '/dev/vda1', fstype: 'ext4', mountpoint: '/' }, () => diskBytes * 0.8);
        break;
      case 'bandwidth':
        // Megabits per second on the asked interface and direction.
        series({ interface: query.interface ?? 'public', direction: query.direction ?? 'inbound' }, () => 0.05);
        break;
    }
  }
  return { status: 'success', data: { resultType: 'matrix', result } };
}
