import type { CatalogAttribute } from '../../catalog/catalog.service.js';
import type { CatalogSource, FetchContext, FetchedType, LookUpResult, SourceItem } from '../../catalog/sync.js';
import { PD_TYPES } from './catalog-source.js';
import { ownedBy, pdKey, splitPdKey } from './accounts.js';

// One PagerDuty account as a catalog source. The PagerDuty types are shared by every account; this wraps the
// PagerDuty source of one account so its entries carry the account (the `account` attribute, the account's name)
// and, for accounts after the first, external ids `<account>:<PagerDuty id>` (references likewise), and so its run
// owns only its own entries: one account's sync never updates nor archives another's.

export const ACCOUNT_ATTRIBUTE: CatalogAttribute = { id: 'account', name: 'Account', type: 'string', array: false };

const REFERENCES = new Map(PD_TYPES.map((t) => [t.key, t.attributes.filter((a) => a.type === 'reference').map((a) => a.id)]));

export class AccountCatalogSource implements CatalogSource {
  readonly source: string;
  readonly types = PD_TYPES;

  constructor(
    private readonly inner: CatalogSource,
    private readonly account: { id: string; kind: string; name: string },
  ) {
    this.source = account.kind;
  }

  owns(externalId: string): boolean {
    return ownedBy(this.account.id, externalId);
  }

  private key = (id: string) => pdKey(this.account.id, id);

  private item(typeKey: string, it: SourceItem): SourceItem {
    const values: Record<string, unknown> = { ...it.values, account: this.account.name };
    for (const a of REFERENCES.get(typeKey) ?? []) {
      const v = values[a];
      if (Array.isArray(v)) values[a] = v.map((x) => (typeof x === 'string' ? this.key(x) : x));
      else if (typeof v === 'string') values[a] = this.key(v);
    }
    return { ...it, externalId: this.key(it.externalId), values };
  }

  async fetch(typeKeys: string[], ctx: FetchContext): Promise<Record<string, FetchedType>> {
    const fetched = await this.inner.fetch(typeKeys, ctx);
    const out: Record<string, FetchedType> = {};
    for (const [k, f] of Object.entries(fetched)) out[k] = { ...f, items: f.items.map((it) => this.item(k, it)), skipped: f.skipped.map(this.key) };
    return out;
  }

  async lookUp(typeKey: string, unseen: string[] | null, ctx: FetchContext): Promise<LookUpResult> {
    if (!this.inner.lookUp) return { items: [], gone: [], warnings: [] };
    const r = await this.inner.lookUp(typeKey, unseen ? unseen.map((x) => splitPdKey(x).id) : null, ctx);
    return { items: r.items.map((it) => this.item(typeKey, it)), gone: r.gone.map(this.key), warnings: r.warnings };
  }
}
