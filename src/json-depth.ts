/**
 * How deep a JSON value nests. Client JSON (request bodies, token claims) and JSON the database
 * parses for a client (json/jsonb columns) later meet code that recurses once per level:
 * structured clone to and from worker threads, JSON.stringify (the response, BullMQ payloads, the
 * claims bound on a pg connection). Deep enough, that overflows the stack — a thread wedged or a
 * request lost — so depth is bounded by `limits.maxJsonDepth` before any of it runs. This walk is
 * iterative, so measuring a value can never overflow itself.
 */

/** Levels of arrays/objects: a scalar is 0, `[]` and `{}` are 1, `{"a":[1]}` is 2. */
export function exceedsJsonDepth(value: unknown, max: number): boolean {
  if (!isContainer(value)) return false;
  const stack: Array<[object, number]> = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [container, depth] = next;
    if (depth > max) return true;
    for (const child of Array.isArray(container) ? container : Object.values(container)) {
      if (isContainer(child)) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** Arrays and plain objects; binary values (Buffer, typed arrays) and dates carry no nesting. */
function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value) && !(value instanceof Date);
}

/**
 * The deepest nesting sluice ever passes on (the upper bound of limits.maxJsonDepth, and the bound
 * for JSON the database parses): far below where V8's recursive clone and stringify overflow
 * (a few thousand levels), and tested end to end in both queue modes.
 */
export const JSON_DEPTH_CAP = 512;
