/**
 * What "only the caller's rows" means for a 200 answer to tenant 1: no tenant-2 or hidden marker
 * anywhere in the JSON, every tenant_id seen is 1, and no hidden column name appears as a key.
 * Returns the reasons the answer leaks, empty when it is clean.
 */
const MARKERS = /t2|secret/i;
const HIDDEN_KEYS = new Set(['secret_note', 'token']);

export function leaks(body: unknown, tenant = 1): string[] {
  const reasons: string[] = [];
  const text = JSON.stringify(body);
  const marker = MARKERS.exec(text);
  if (marker) reasons.push(`marker "${marker[0]}" in ${text.slice(Math.max(0, marker.index - 60), marker.index + 60)}`);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      if (HIDDEN_KEYS.has(k)) reasons.push(`hidden key ${k}`);
      if (k === 'tenant_id' && child !== tenant && child !== null) reasons.push(`tenant_id ${JSON.stringify(child)}`);
      walk(child);
    }
  };
  walk((body as { rows?: unknown }).rows);
  return reasons;
}
