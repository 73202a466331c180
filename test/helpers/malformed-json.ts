/** Request bodies that must be refused as BAD_REQUEST before any SQL is looked at: text that is not JSON. */
import fc from 'fast-check';

/**
 * Text that does not parse as JSON and is not blank: a valid `{ sql, params: [v] }` body cut short,
 * arbitrary (also non-UTF-8-looking) strings, and the hand-picked `extra` cases if any.
 */
export function malformedJson(sql: string, extra: readonly string[] = []): fc.Arbitrary<string> {
  const cutShort = fc.jsonValue().map((v) => JSON.stringify({ sql, params: [v] })).chain((s) => fc.integer({ min: 1, max: Math.max(1, s.length - 1) }).map((n) => s.slice(0, n)));
  const arbitrary = fc.string({ unit: 'binary', minLength: 1, maxLength: 200 });
  // Without extras the arbitrary is exactly oneof(cutShort, arbitrary): the same seed gives the same cases.
  const sources = extra.length > 0 ? [cutShort, arbitrary, fc.constantFrom(...extra)] : [cutShort, arbitrary];
  return fc.oneof(...sources).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return s.trim() !== '';
    }
  });
}
