/**
 * A route's JSON schema as an OpenAPI 3.1 schema object. OpenAPI 3.1 schemas are JSON Schema
 * 2020-12, so the only change is that a local `$ref` ("#/properties/method", relative to the
 * route's schema) would resolve against the OpenAPI document instead: such refs are inlined.
 */
function pointer(root: unknown, ref: string): unknown {
  let node = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object' || !(key in node)) throw new Error(`openapi: unresolvable $ref ${ref}`);
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

export function toOpenApiSchema(schema: unknown): Record<string, unknown> {
  const walk = (node: unknown, depth: number): unknown => {
    if (depth > 32) throw new Error('openapi: $ref cycle');
    if (Array.isArray(node)) return node.map((n) => walk(n, depth));
    if (node === null || typeof node !== 'object') return node;
    const o = node as Record<string, unknown>;
    if (typeof o.$ref === 'string' && o.$ref.startsWith('#/')) return walk(pointer(schema, o.$ref), depth + 1);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, walk(v, depth)]));
  };
  return walk(schema, 0) as Record<string, unknown>;
}
