// Test helper: compares a payload with one of Slack's documented sample skeletons.

/** Paths in `actual` that the documented sample does not have, or whose JSON type differs. Block Kit content echoed back (`blocks`) is not compared. */
export function shapeProblems(sampleObj: any, actual: any, allowExtra: string[] = [], path = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(actual ?? {})) {
    const p = path ? `${path}.${k}` : k;
    if (allowExtra.includes(p) || k === 'blocks') continue;
    if (!(k in sampleObj)) {
      out.push(`unexpected key ${p}`);
      continue;
    }
    const s = sampleObj[k];
    if (v === null) continue; // Slack sends null for absent objects/ids
    const kind = (x: unknown) => (Array.isArray(x) ? 'array' : typeof x);
    if (kind(s) !== kind(v)) {
      out.push(`${p}: ${kind(v)} where Slack sends ${kind(s)}`);
      continue;
    }
    if (kind(v) === 'object' && Object.keys(s).length) out.push(...shapeProblems(s, v, allowExtra, p));
    if (kind(v) === 'array' && s.length && typeof s[0] === 'object') {
      for (const [i, item] of (v as unknown[]).entries()) out.push(...shapeProblems(s[0], item, allowExtra.map((a) => a.replace(`${p}[]`, `${p}[${i}]`)), `${p}[${i}]`));
    }
  }
  return out;
}
