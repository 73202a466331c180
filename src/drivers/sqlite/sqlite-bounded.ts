/**
 * Which compiled reads may run on the worker thread instead of in the killable SQLite process
 * (issue 12): only programs that provably end after a bounded number of steps. better-sqlite3 has
 * no interrupt, so a statement started on the thread cannot be stopped; the classification is
 * therefore by construction, on the VDBE program SQLite compiled (the same EXPLAIN the engine wall
 * reads), and fails closed: anything it does not recognise goes to the process.
 *
 * A program qualifies when it is straight-line:
 *  - every opcode is on the allowlist below — opcodes that do a bounded amount of work each
 *    (seeks by key, reading a column, comparing, producing a row). Not on it: loops over rows
 *    (Next/Prev/Rewind-driven scans), sorters, aggregates, coroutines and subroutines
 *    (Yield/Gosub/Return), sub-programs (triggers), ephemeral tables (IN lists, DISTINCT), `Count`,
 *    SQL functions of any kind (Function/PureFunc: LIKE, printf, replace, json_*, zeroblob …) and
 *    string concatenation — everything whose cost can grow beyond the values a row holds;
 *  - every jump goes forward, except the last instruction: the `Goto` from the transaction
 *    prologue (Init's target) back to address 1, which runs once;
 *  - the body [1, prologue) never jumps into the prologue and ends in `Halt`.
 * Then the program counter only increases within the body and each instruction runs at most once:
 * the work is bounded by the program's length and the size of the values in the (at most one per
 * cursor) rows it reads — a primary-key or unique-key lookup, the rewritten form of Drizzle's
 * `findFirst({ where: eq(t.id, …) })` and friends. Every other read pays the process hop.
 */

export interface ExplainRow {
  opcode: string;
  p1: number;
  p2: number;
  p3: number;
  p5: number;
}

/** Opcodes whose p2 is a jump target (taken or not, depending on the opcode). */
const JUMPS = new Set([
  'Init', 'Goto', 'If', 'IfNot', 'IsNull', 'NotNull', 'Eq', 'Ne', 'Lt', 'Le', 'Gt', 'Ge', 'MustBeInt',
  'SeekRowid', 'NotExists', 'SeekGE', 'SeekGT', 'SeekLE', 'SeekLT', 'IdxGT', 'IdxGE', 'IdxLT', 'IdxLE',
  'DecrJumpZero', 'Once', 'IfNullRow', 'NotFound', 'Found', 'NoConflict', 'IfPos', 'IfNotZero',
]);

/** Opcodes that do a bounded amount of work each and never jump. */
const STRAIGHT = new Set([
  'Transaction', 'TableLock', 'OpenRead', 'ReopenIdx', 'ColumnsUsed', 'CursorHint', 'Variable', 'Integer',
  'Int64', 'Real', 'String8', 'String', 'Null', 'SoftNull', 'Blob', 'Copy', 'SCopy', 'IntCopy', 'Move',
  'Column', 'Rowid', 'IdxRowid', 'DeferredSeek', 'FinishSeek', 'NullRow', 'ResultRow', 'Halt', 'Affinity',
  'RealAffinity', 'TypeCheck', 'Noop', 'Explain', 'Not', 'And', 'Or', 'IsTrue', 'ZeroOrNull', 'OffsetLimit',
  'Add', 'Subtract', 'Multiply', 'Divide', 'Remainder', 'BitAnd', 'BitOr', 'BitNot', 'ShiftLeft', 'ShiftRight',
]);

/** Whether `rows` (EXPLAIN of one statement, in address order) is a straight-line program as above. */
export function isStraightLine(rows: readonly ExplainRow[]): boolean {
  const last = rows.length - 1;
  const init = rows[0];
  if (!init || init.opcode !== 'Init' || last < 2) return false;
  const prologue = init.p2;
  if (prologue <= 1 || prologue > last) return false;
  if (rows[prologue - 1]!.opcode !== 'Halt') return false;
  const trampoline = rows[last]!;
  if (trampoline.opcode !== 'Goto' || trampoline.p2 !== 1) return false;
  for (let addr = 1; addr < last; addr++) {
    const r = rows[addr]!;
    if (JUMPS.has(r.opcode)) {
      if (r.opcode === 'Init') return false;
      // Forward only, and the body stays in the body, the prologue in the prologue.
      if (r.p2 <= addr) return false;
      if (addr < prologue ? r.p2 >= prologue : r.p2 > last) return false;
    } else if (!STRAIGHT.has(r.opcode)) {
      return false;
    }
  }
  return true;
}
