/**
 * Named prepared statements, per connection: the context step and the rewritten statements a
 * connection has run are parsed (and planned) once and then only bound and executed. An LRU per
 * connection, bounded by `preparedStatements` (0: off, every statement is parsed each time).
 *
 * What a prepared statement keeps on the session is the statement's TEXT, never a value: claims,
 * role, timeout and the client's parameters are bound on every execution, and a rewritten
 * statement's text is the same for every tenant (claim values are parameters, see
 * sql/postgres/postgres-validator.ts). So a statement prepared during one tenant's lease carries
 * nothing of that tenant into the next; the session sanitization test checks exactly that.
 *
 * Which names exist on the server is tracked from what the pipeline got through: a step that
 * completed was parsed; the step a pipeline failed at may or may not have been; later ones were
 * skipped. A name in doubt, and a name evicted from the LRU, is closed (protocol Close, which is
 * no error for a name that does not exist) at the start of the connection's next pipeline, before
 * anything that could fail, so it costs no round trip of its own. A connection that is destroyed
 * (recycled, or in doubt) takes its statements with it.
 */
export interface PreparedPlan {
  /** Per step: the statement name ('' = unnamed) and whether it must be parsed now. */
  names: string[];
  parse: boolean[];
  /** Names to Close before the pipeline's first step. */
  closes: string[];
  /** Whether any step reuses a statement parsed by an earlier pipeline. */
  reused: boolean;
}

const PREFIX = 'sluice_';

export class PreparedStatements {
  /** text → name; Map order is recency (oldest first). */
  private readonly byText = new Map<string, string>();
  private pendingCloses: string[] = [];
  private seq = 0;

  constructor(private readonly capacity: number) {}

  /** Plan a pipeline of `texts`. The plan must be settled (settle) whatever happens to it. */
  plan(texts: readonly string[]): PreparedPlan {
    const closes = this.pendingCloses;
    this.pendingCloses = [];
    const names: string[] = [];
    const parse: boolean[] = [];
    const used = new Set<string>();
    let reused = false;
    for (const text of texts) {
      const hit = this.byText.get(text);
      if (hit !== undefined) {
        // Most recently used goes last.
        this.byText.delete(text);
        this.byText.set(text, hit);
        names.push(hit);
        // Parsed earlier in this same pipeline, or by an earlier one.
        const parsedNow = used.has(hit);
        parse.push(false);
        if (!parsedNow) reused = true;
        used.add(hit);
        continue;
      }
      if (this.byText.size >= this.capacity && !this.evictOne(used, closes)) {
        // Full of this pipeline's own statements (a batch longer than the cache): unnamed.
        names.push('');
        parse.push(true);
        continue;
      }
      const name = `${PREFIX}${(this.seq++).toString(36)}`;
      this.byText.set(text, name);
      names.push(name);
      parse.push(true);
      used.add(name);
    }
    return { names, parse, closes, reused };
  }

  /**
   * After the pipeline: `reached` is the index of the step it ended at (steps before it
   * completed) or the step count when all did. A step parsed now at or after `reached` may not
   * exist on the server: it is forgotten, and closed next time in case it does.
   */
  settle(plan: PreparedPlan, texts: readonly string[], reached: number): void {
    for (let i = reached; i < texts.length; i++) {
      if (!plan.parse[i] || plan.names[i] === '') continue;
      const name = plan.names[i]!;
      if (this.byText.get(texts[i]!) === name) this.byText.delete(texts[i]!);
      this.pendingCloses.push(name);
    }
  }

  /** Forget everything (the server said a name we rely on is gone, or a plan went stale): all closed next time. */
  clear(): void {
    for (const name of this.byText.values()) this.pendingCloses.push(name);
    this.byText.clear();
  }

  /** For tests: the names and texts believed to exist. */
  entries(): Array<[text: string, name: string]> {
    return [...this.byText.entries()];
  }

  private evictOne(used: ReadonlySet<string>, closes: string[]): boolean {
    for (const [text, name] of this.byText) {
      if (used.has(name)) continue;
      this.byText.delete(text);
      closes.push(name);
      return true;
    }
    return false;
  }
}

/** One cache per pg client object: it lives and dies with the session. */
const caches = new WeakMap<object, PreparedStatements>();

export function preparedFor(client: object, capacity: number): PreparedStatements | undefined {
  if (capacity <= 0) return undefined;
  let cache = caches.get(client);
  if (!cache) {
    cache = new PreparedStatements(capacity);
    caches.set(client, cache);
  }
  return cache;
}
