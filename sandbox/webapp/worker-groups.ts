import { createHash, randomBytes, randomUUID } from 'node:crypto';

const ALPHANUMERIC = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** `tr_wgt_` + 40 characters of [0-9a-zA-Z], like the webapp's nanoid customAlphabet. */
export function generateWorkerToken(): string {
  return `tr_wgt_${Array.from(randomBytes(40), (b) => ALPHANUMERIC[b % 62]).join('')}`;
}

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

export interface WorkerGroup {
  readonly id: string;
  readonly name: string;
  readonly type: 'MANAGED' | 'UNMANAGED';
  readonly description: string | null;
  readonly masterQueue: string;
  readonly hidden: boolean;
  readonly tokenId: string;
  readonly createdAt: Date;
  readonly defaultForProjects: string[];
}

export interface WorkerInstance {
  readonly name: string;
  /** Name of the worker group. */
  readonly group: string;
  readonly connectedAt: Date;
  lastHeartbeatAt: Date | undefined;
  /** `metadata.workerVersion` of the last connect. */
  workerVersion: string | undefined;
  dequeues: number;
}

/** What the webapp keeps in Postgres about worker groups: only token hashes, never the plaintext. */
export class WorkerGroupRegistry {
  readonly #groups = new Map<string, WorkerGroup & { readonly tokenHash: string }>();
  readonly #instances = new Map<string, WorkerInstance>();

  byName(name: string): WorkerGroup | undefined {
    return [...this.#groups.values()].find((g) => g.name === name);
  }

  byToken(token: string): WorkerGroup | undefined {
    const hash = sha256Hex(token);
    return [...this.#groups.values()].find((g) => g.tokenHash === hash);
  }

  /** Creates a group and returns its token's plaintext: the only time it exists. */
  create(input: { name: string; description?: string | undefined; type?: 'MANAGED' | 'UNMANAGED'; hidden?: boolean }) {
    const plaintext = generateWorkerToken();
    const tokenHash = sha256Hex(plaintext);
    const group = {
      id: randomUUID(),
      name: input.name,
      type: input.type ?? 'MANAGED',
      description: input.description ?? null,
      masterQueue: input.name,
      hidden: input.hidden ?? false,
      tokenId: randomUUID(),
      createdAt: new Date(),
      defaultForProjects: [],
      tokenHash,
    };
    this.#groups.set(group.id, group);
    return { workerGroup: publicGroup(group), token: { id: group.tokenId, tokenHash, plaintext } };
  }

  list(): WorkerGroup[] {
    return [...this.#groups.values()].map(publicGroup);
  }

  /** Upserts the (group, name) row, as connect does. */
  connect(group: WorkerGroup, name: string, workerVersion: string | undefined): WorkerInstance {
    const key = `${group.id}/${name}`;
    const existing = this.#instances.get(key);
    const instance: WorkerInstance = existing ?? {
      name,
      group: group.name,
      connectedAt: new Date(),
      lastHeartbeatAt: undefined,
      workerVersion: undefined,
      dequeues: 0,
    };
    if (workerVersion !== undefined) instance.workerVersion = workerVersion;
    this.#instances.set(key, instance);
    return instance;
  }

  instance(group: WorkerGroup, name: string): WorkerInstance {
    return this.#instances.get(`${group.id}/${name}`) ?? this.connect(group, name, undefined);
  }

  instances(): WorkerInstance[] {
    return [...this.#instances.values()].map((i) => ({ ...i }));
  }
}

function publicGroup(g: WorkerGroup): WorkerGroup {
  return {
    id: g.id,
    name: g.name,
    type: g.type,
    description: g.description,
    masterQueue: g.masterQueue,
    hidden: g.hidden,
    tokenId: g.tokenId,
    createdAt: g.createdAt,
    defaultForProjects: [...g.defaultForProjects],
  };
}
