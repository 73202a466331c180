/**
 * A label whose values come from requests (the tenant) must not grow the series count without
 * bound: the first `max` distinct values keep their own label, every later one shares "_other".
 * The set is per engine and never shrinks, so a value's label never changes once given.
 */
export const OTHER_LABEL = '_other';
export const NONE_LABEL = '_none';
/** Claims can be long strings; a label longer than this is cut (the cut value still counts once). */
const MAX_LABEL_LENGTH = 64;

export type LabelCap = (value: string | number | undefined) => string;

export function createLabelCap(max: number): LabelCap {
  const seen = new Set<string>();
  return (value) => {
    if (value === undefined) return NONE_LABEL;
    const label = String(value).slice(0, MAX_LABEL_LENGTH);
    if (seen.has(label)) return label;
    if (seen.size >= max) return OTHER_LABEL;
    seen.add(label);
    return label;
  };
}
