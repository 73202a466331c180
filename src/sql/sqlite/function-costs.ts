/**
 * What each SQLite built-in costs (common/function-costs.ts). Every function of SQLITE_FUNCTIONS
 * has an entry (test/unit/sql/function-costs.test.ts); a function added with `sql.allowFunctions`
 * counts as 'sum'. SQLite runs in a process the driver kills at the deadline, so its CPU is
 * always stopped; what matters here is memory in that process (on the gateway's host): values
 * may reach SQLite's length limit (1e9 bytes) before the deadline.
 */
import { costs, FIXED, SUM, type FunctionCost } from '../common/function-costs.js';

const ESCAPED: FunctionCost = { growth: { times: 2 } };
const SIZED = { refuse: 'its result size is given by an argument' };

export const SQLITE_FUNCTION_COSTS: Readonly<Record<string, FunctionCost>> = {
  ...costs(['count', 'sum', 'total', 'avg'], FIXED),
  ...costs(['min', 'max', 'group_concat', 'string_agg'], SUM),
  ...costs(['json_group_array', 'json_group_object'], ESCAPED),
  ...costs(['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile'], FIXED),
  ...costs(['lag', 'lead', 'first_value', 'last_value', 'nth_value'], SUM),
  ...costs(['json_array', 'json_object', 'json_quote', 'json_insert', 'json_replace', 'json_set', 'jsonb_array', 'jsonb_object'], ESCAPED),
  ...costs(['json', 'json_extract', 'json_remove', 'json_patch', 'jsonb', 'jsonb_extract', 'json_each'], SUM),
  ...costs(['json_array_length', 'json_type', 'json_valid'], FIXED),
  ...costs(['coalesce', 'ifnull', 'nullif', 'iif'], { growth: 'max' }),
  ...costs(['typeof', 'length', 'unicode', 'octet_length'], FIXED),
  ...costs(['lower', 'upper', 'substr', 'substring', 'unhex', 'concat', 'char'], SUM),
  ...costs(['trim', 'ltrim', 'rtrim'], { growth: 'sum', short: [1] }),
  concat_ws: { growth: { separator: 0 } },
  instr: { growth: 'fixed', short: [1] },
  ...costs(['like', 'glob'], { growth: 'fixed', short: [0] }),
  replace: { growth: { replace: { subject: 0, from: 1, to: 2 } } },
  ...costs(['hex', 'quote'], ESCAPED),
  ...costs(['randomblob', 'zeroblob', 'printf', 'format', 'replicate'], { growth: SIZED }),
  ...costs(['abs', 'round', 'random', 'sign', 'ceil', 'ceiling', 'floor', 'trunc', 'sqrt', 'pow', 'power', 'exp', 'ln', 'log', 'log10'], FIXED),
  ...costs(['log2', 'mod', 'pi', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'degrees', 'radians'], FIXED),
  ...costs(['date', 'time', 'datetime', 'julianday', 'unixepoch', 'timediff', 'current_timestamp', 'current_date', 'current_time'], FIXED),
  // '%J' prints a julian day (up to 16 characters) for 2
  strftime: { growth: { times: 8 } },
};
