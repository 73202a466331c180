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
 * when the client is free and routes the backend's messages to the handle* methods. Rows are taken
 * here, one DataRow message at a time, against the response budget (limits.maxResponseBytes): a
 * result is never held whole before it is measured.
 */
import pg from 'pg';
import type { CustomTypesConfig, FieldDef, QueryResult } from 'pg';
import type { ResponseBudget } from '../common/response-budget.js';

export interface PipelineStep {
  text: string;
  values: unknown[];
  rowMode?: 'array';
  /** A client statement: its rows count against the response budget (the context step's do not). */
  budgeted?: boolean;
  /** A named prepared statement (pg-prepared.ts); absent or '': the unnamed statement. */
  name?: string;
  /** false: `name` was parsed by an earlier pipeline (or step) on this connection, only Bind/Execute. */
  parse?: boolean;
  /** Its rows are not wanted (the context step): no Describe, rows ignored unparsed. */
  discardRows?: boolean;
}

/** Named statements to close before the first step, and where the pipeline ended (for pg-prepared.ts). */
export interface PipelinePrepared {
  closes: readonly string[];
  /** Set when the pipeline ends: the index of the step it ended at, or the step count if all completed. */
  reached: number;
}

/** What the rows of a pipeline may cost, and how to stop a read that outgrows it. */
export interface PipelineBudget {
  budget: ResponseBudget;
  /**
   * Called once, at the first row that does not fit: a read cancels its statement on the server
   * (the pipeline then ends with the rows that fit). Null for writes: they run to their end and
   * only their rows beyond the budget are dropped.
   */
  stop: (() => void) | null;
}

export interface PipelineResult {
  result: QueryResult<unknown[] | Record<string, unknown>>;
  /** Rows of this step were dropped for the byte budget (or it never ran because of it). */
  truncated: boolean;
}

/** The parts of pg's Connection this uses (pg's typings do not export the class). */
interface WireConnection {
  stream: { cork?: () => void; uncork?: () => void };
  parse(msg: { text: string; name: string; types: number[] }): void;
  bind(msg: { portal: string; statement: string; values: unknown[]; valueMapper: (v: unknown) => unknown }): void;
  describe(msg: { type: 'P'; name: string }): void;
  close(msg: { type: 'S'; name: string }): void;
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

type Callback = (err: Error | null, results?: PipelineResult[]) => void;

class PipelineSubmittable {
  private readonly results: PgResult[];
  private readonly truncated: boolean[];
  private current = 0;
  private rowError: Error | null = null;
  /** A read was stopped for the budget: whatever ends the pipeline now is the end we asked for. */
  private stopped = false;
  private done = false;

  constructor(
    private readonly steps: PipelineStep[],
    types: CustomTypesConfig,
    private readonly limit: PipelineBudget,
    private readonly callback: Callback,
    private readonly prepared: PipelinePrepared | undefined,
  ) {
    this.results = steps.map((s) => new PgResultClass(s.rowMode, types));
    this.truncated = steps.map(() => false);
  }

  submit(connection: WireConnection): Error | null {
    connection.stream.cork?.();
    try {
      // Closes first: they cannot fail, so they are done even if a step below fails.
      for (const name of this.prepared?.closes ?? []) connection.close({ type: 'S', name });
      for (const step of this.steps) {
        const name = step.name ?? '';
        if (step.parse !== false) connection.parse({ text: step.text, name, types: [] });
        connection.bind({ portal: '', statement: name, values: step.values, valueMapper: prepareValue });
        if (!step.discardRows) connection.describe({ type: 'P', name: '' });
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
    if (!result || this.rowError || this.steps[this.current]!.discardRows) return;
    const budgeted = this.steps[this.current]?.budgeted === true;
    if (budgeted && this.limit.budget.exhausted) {
      // Dropped unparsed: a write runs on to its end, a read until its cancel lands.
      this.truncated[this.current] = true;
      return;
    }
    try {
      const row = result.parseRow(msg.fields);
      if (budgeted && !this.limit.budget.admit(row)) {
        this.truncated[this.current] = true;
        if (this.limit.stop && !this.stopped) {
          this.stopped = true;
          this.limit.stop();
        }
        return;
      }
      result.addRow(row);
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
    if (this.stopped && !this.rowError) {
      // The cancel of a read stopped for the budget (or anything after it): its rows that fit
      // are its answer, and the steps it kept from running are cut too. Nothing was written.
      for (let i = this.current; i < this.steps.length; i++) this.truncated[i] = this.steps[i]!.budgeted === true;
      this.finish(null);
      return;
    }
    // Which step the server refused: the context step (0) failing means the role could not be set.
    if (!this.rowError) Object.assign(err, { pipelineStep: this.current });
    this.finish(this.rowError ?? err);
  }

  handleReadyForQuery(): void {
    this.finish(this.rowError);
  }

  private finish(err: Error | null): void {
    if (this.done) return;
    this.done = true;
    // A row pg could not parse (or a value it could not send) leaves no telling which Parse ran.
    if (this.prepared) this.prepared.reached = this.rowError ? 0 : this.current;
    if (err) this.callback(err);
    else this.callback(null, this.results.map((result, i) => ({ result, truncated: this.truncated[i]! })));
  }
}

/** Runs the steps in one round trip and one implicit transaction; resolves every step's result. */
export function runPipeline(
  client: pg.ClientBase,
  steps: PipelineStep[],
  types: CustomTypesConfig,
  limit: PipelineBudget,
  prepared?: PipelinePrepared,
): Promise<PipelineResult[]> {
  return new Promise((resolve, reject) => {
    const submittable = new PipelineSubmittable(steps, types, limit, (err, results) => (err ? reject(err) : resolve(results!)), prepared);
    client.query(submittable as unknown as pg.Submittable);
  });
}
