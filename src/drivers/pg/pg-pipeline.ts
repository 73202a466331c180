/**
 * Several extended-protocol statements sent in one write, closed by ONE Sync: one round trip.
 *
 * Why one Sync matters: everything up to a Sync runs in one implicit transaction, which commits at
 * the Sync; if any statement fails, the server skips the rest until the Sync and rolls back. So a
 * statement after `set_config(…, true)` can only ever run with those settings in force, and a
 * failed or cancelled context step can never let the statement run without it. (pg's own pipeline
 * mode sends a Sync per query, which would give neither guarantee.)
 *
 * This is a pg "Submittable" (the interface pg-cursor and pg-query-stream use): pg calls submit()
 * when the client is free and routes the backend's messages to the handle* methods.
 */
import pg from 'pg';
import type { CustomTypesConfig, FieldDef, QueryResult } from 'pg';

export interface PipelineStep {
  text: string;
  values: unknown[];
  rowMode?: 'array';
}

/** The parts of pg's Connection this uses (pg's typings do not export the class). */
interface WireConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name: string; types: number[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  execute(msg: { portal: string; rows: number }): void;
  sync(): void;
  sendCopyFail(msg: string): void;
}

/** pg's Result, with the members it exposes at runtime but not in its typings. */
interface PgResult extends QueryResult<unknown[] | Record<string, unknown>> {
  addFields(fields: FieldDef[]): void;
  parseRow(fields: unknown[]): unknown[] | Record<string, unknown>;
  addRow(row: unknown[] | Record<string, unknown>): void;
  addCommandComplete(msg: { text?: string; command?: string }): void;
}
const PgResultClass = (pg as unknown as { Result: new (rowMode: string | undefined, types: CustomTypesConfig) => PgResult }).Result;
const prepareValue = (pg as unknown as { utils: { prepareValue(v: unknown): unknown } }).utils.prepareValue;

type Callback = (err: Error | null, results?: PgResult[]) => void;

class PipelineSubmittable {
  private readonly results: PgResult[];
  private current = 0;
  private rowError: Error | null = null;
  private done = false;

  constructor(
    private readonly steps: PipelineStep[],
    types: CustomTypesConfig,
    private readonly callback: Callback,
  ) {
    this.results = steps.map((s) => new PgResultClass(s.rowMode, types));
  }

  submit(connection: WireConnection): Error | null {
    connection.stream.cork?.();
    try {
      for (const step of this.steps) {
        connection.parse({ text: step.text, name: '', types: [] });
        connection.bind({ portal: '', statement: '', values: step.values, valueMapper: prepareValue });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '', rows: 0 });
      }
      connection.sync();
    } catch (err) {
      // A value pg cannot serialize: nothing usable was sent without its Sync, so end the pipeline.
      connection.sync();
      this.rowError = err instanceof Error ? err : new Error(String(err));
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: FieldDef[] }): void {
    this.results[this.current]?.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    const result = this.results[this.current];
    if (!result || this.rowError) return;
    try {
      result.addRow(result.parseRow(msg.fields));
    } catch (err) {
      this.rowError = err instanceof Error ? err : new Error(String(err));
    }
  }

  handleCommandComplete(msg: { text?: string; command?: string }): void {
    this.results[this.current]?.addCommandComplete(msg);
    this.current++;
  }

  handleEmptyQuery(): void {
    this.current++;
  }

  handlePortalSuspended(): void {
    // rows: 0 never suspends a portal.
  }

  handleCopyInResponse(connection: WireConnection): void {
    connection.sendCopyFail('COPY is not supported');
  }

  handleCopyData(): void {}

  /** A backend error (pg stops routing messages to us) or a dead socket. */
  handleError(err: Error): void {
    // Which step the server refused: the context step (0) failing means the role could not be set.
    if (!this.rowError) Object.assign(err, { pipelineStep: this.current });
    this.finish(this.rowError ?? err);
  }

  handleReadyForQuery(): void {
    if (this.rowError) this.finish(this.rowError);
    else this.finish(null, this.results);
  }

  private finish(err: Error | null, results?: PgResult[]): void {
    if (this.done) return;
    this.done = true;
    this.callback(err, results);
  }
}

/** Runs the steps in one round trip and one implicit transaction; resolves every step's result. */
export function runPipeline(client: pg.ClientBase, steps: PipelineStep[], types: CustomTypesConfig): Promise<QueryResult<unknown[] | Record<string, unknown>>[]> {
  return new Promise((resolve, reject) => {
    const submittable = new PipelineSubmittable(steps, types, (err, results) => (err ? reject(err) : resolve(results!)));
    client.query(submittable as unknown as pg.Submittable);
  });
}
