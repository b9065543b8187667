// Where an incident update went besides the timeline: integrations report it here so the update shows it
// (the API's update JSON, the web page) without the core importing any integration. The PagerDuty wing reports
// one delivery per linked PagerDuty incident (a status update); Slack may report its channel post.

export interface UpdateDelivery {
  target: 'pagerduty' | 'slack';
  /** The upstream object, e.g. the PagerDuty incident id. */
  ref: string;
  /** In words, with names: `PagerDuty incident #1234 "Checkout is down"`. */
  label: string;
  url: string | null;
  state: 'pending' | 'sent' | 'failed' | 'skipped';
  /** Why it failed or was skipped, in the upstream's own words (PagerDuty's error message). */
  message: string | null;
  at: string | null;
}

/** Given update ids, the deliveries of each (ids without any may be left out). */
export type UpdateDeliveriesPort = (updateIds: string[]) => Promise<Map<string, UpdateDelivery[]>>;

export class UpdateDeliveries {
  private readonly ports: UpdateDeliveriesPort[] = [];

  use(port: UpdateDeliveriesPort): void {
    this.ports.push(port);
  }

  async for(updateIds: string[]): Promise<Map<string, UpdateDelivery[]>> {
    const out = new Map<string, UpdateDelivery[]>();
    if (updateIds.length === 0) return out;
    for (const port of this.ports) {
      for (const [id, list] of await port(updateIds)) out.set(id, [...(out.get(id) ?? []), ...list]);
    }
    return out;
  }
}
