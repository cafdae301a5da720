export interface PlanItem {
  readonly system: 'railway' | 'webapp' | 'digitalocean' | 'droplet';
  readonly action: 'create' | 'change' | 'keep' | 'check';
  readonly what: string;
}

export interface DeployPlan {
  readonly installationId: string;
  readonly items: readonly PlanItem[];
  readonly monthlyPriceUsd: number;
  readonly hourlyPriceUsd: number;
  readonly supervisorVersion: string;
}
