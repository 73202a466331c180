/**
 * What a SQLite statement may call and cast to. Everything not listed is refused; config
 * `sql.allowFunctions` extends the list. Deliberately absent: load_extension, sqlite_* (version,
 * source id, compile options, offsets), changes/total_changes/last_insert_rowid (connection
 * state), readfile/writefile/edit (CLI extensions), fts3_tokenizer, and functions that allocate huge
 * values from tiny input (randomblob, zeroblob, printf/format with width, replicate:
 * function-costs.ts refuses those even when `sql.allowFunctions` lists them, and says what the
 * listed ones may cost).
 */
const AGGREGATES = ['count', 'sum', 'total', 'avg', 'min', 'max', 'group_concat', 'string_agg', 'json_group_array', 'json_group_object'];
const WINDOW = ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value'];
const JSON_FUNCS = [
  'json', 'json_array', 'json_object', 'json_extract', 'json_array_length', 'json_type', 'json_valid', 'json_quote', 'json_insert',
  'json_replace', 'json_set', 'json_remove', 'json_patch', 'jsonb', 'jsonb_array', 'jsonb_object', 'jsonb_extract',
];
const CONTROL = ['coalesce', 'ifnull', 'nullif', 'iif', 'typeof'];
const STRING = [
  'length', 'lower', 'upper', 'substr', 'substring', 'trim', 'ltrim', 'rtrim', 'replace', 'instr', 'hex', 'unhex', 'unicode',
  'char', 'quote', 'like', 'glob', 'concat', 'concat_ws', 'octet_length',
];
const MATH = [
  'abs', 'round', 'random', 'sign', 'ceil', 'ceiling', 'floor', 'trunc', 'sqrt', 'pow', 'power', 'exp', 'ln', 'log', 'log10',
  'log2', 'mod', 'pi', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'degrees', 'radians',
];
const DATE = ['date', 'time', 'datetime', 'julianday', 'unixepoch', 'strftime', 'timediff', 'current_timestamp', 'current_date', 'current_time'];

export const SQLITE_FUNCTIONS: ReadonlySet<string> = new Set([...AGGREGATES, ...WINDOW, ...JSON_FUNCS, ...CONTROL, ...STRING, ...MATH, ...DATE]);

export const SQLITE_CAST_TYPES: ReadonlySet<string> = new Set(['INTEGER', 'INT', 'REAL', 'TEXT', 'NUMERIC', 'BLOB']);
