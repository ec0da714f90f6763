/**
 * Which conductor leads. One conductor on LevelDB always leads. Conductors sharing etcd campaign in an
 * etcd election whose key is bound to a lease (a few seconds): the leader keeps its lease alive; when
 * it dies the lease expires and a standby is elected. Each campaigns with its own URL, so standbys
 * (and routers, through them) learn where the leader is.
 */
import type { Campaign, Election, ElectionObserver, Etcd3 } from 'etcd3';

export interface Leadership {
  readonly isLeader: boolean;
  /** the leader's URL as it campaigned, when known */
  readonly leaderUrl: string | undefined;
  /** called on every change of `isLeader` or `leaderUrl` */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

export class SoloLeadership implements Leadership {
  readonly isLeader = true;
  constructor(readonly leaderUrl: string) {}
  onChange(): void {}
  async close(): Promise<void> {}
}

/** Default lease: a standby leads at most this long after the leader died (plus an election round). */
export const LEASE_TTL_S = 3;
const RETRY_MS = 1000;

export class EtcdLeadership implements Leadership {
  #isLeader = false;
  #leaderUrl: string | undefined;
  #campaign: Campaign | undefined;
  #observer: ElectionObserver | undefined;
  #closed = false;
  readonly #listeners: Array<() => void> = [];
  readonly #election: Election;

  constructor(client: Etcd3, prefix: string, private readonly myUrl: string, ttlS = LEASE_TTL_S, private readonly log: (event: string, fields: Record<string, string>) => void = () => {}) {
    this.#election = client.namespace(prefix).election('conductor-leader', ttlS);
    this.#campaignNow();
    void this.#observe();
  }

  get isLeader(): boolean {
    return this.#isLeader;
  }

  get leaderUrl(): string | undefined {
    return this.#isLeader ? this.myUrl : this.#leaderUrl;
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }

  #campaignNow(): void {
    if (this.#closed) return;
    const campaign = this.#election.campaign(this.myUrl);
    this.#campaign = campaign;
    campaign.on('elected', () => {
      if (this.#campaign !== campaign) return;
      this.#isLeader = true;
      this.log('leader.elected', { url: this.myUrl });
      this.#emit();
    });
    campaign.on('error', (e: Error) => {
      if (this.#campaign !== campaign) return;
      const was = this.#isLeader;
      this.#isLeader = false;
      this.log('leader.campaign-failed', { error: e.message, wasLeader: String(was) });
      if (was) this.#emit();
      setTimeout(() => this.#campaignNow(), RETRY_MS).unref();
    });
  }

  async #observe(): Promise<void> {
    while (!this.#closed) {
      try {
        const observer = await this.#election.observe();
        this.#observer = observer;
        this.#leaderUrl = observer.leader();
        this.#emit();
        observer.on('change', (url: string | undefined) => {
          this.#leaderUrl = url;
          this.#emit();
        });
        await new Promise<void>((resolve) => observer.on('error', () => resolve()));
      } catch {
        // etcd unreachable for now: try again
      }
      await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#isLeader = false;
    await this.#observer?.cancel().catch(() => undefined);
    await this.#campaign?.resign().catch(() => undefined);
  }
}
