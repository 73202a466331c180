/**
 * What a MySQL/MariaDB statement may call and cast to. Everything not listed is refused; config
 * `sql.allowFunctions` extends the list. Deliberately absent: anything that reads files or server
 * state, sleeps, locks or burns CPU (LOAD_FILE, SLEEP, BENCHMARK, GET_LOCK/RELEASE_LOCK,
 * IS_FREE_LOCK, MASTER_POS_WAIT, USER/CURRENT_USER/DATABASE/SCHEMA/VERSION/CONNECTION_ID,
 * LAST_INSERT_ID, FOUND_ROWS, ROW_COUNT, SYS_EVAL, …), functions that allocate huge values from
 * tiny input (REPEAT, LPAD, RPAD, SPACE, JSON_SEARCH), and regular expressions, which MariaDB
 * cannot stop (REGEXP_*): function-costs.ts refuses those even when `sql.allowFunctions` lists
 * them, and says what the listed ones may cost.
 */
const AGGREGATES = [
  'count', 'sum', 'avg', 'min', 'max', 'group_concat', 'json_arrayagg', 'json_objectagg', 'bit_and', 'bit_or', 'bit_xor',
  'std', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp',
];
const WINDOW = ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value'];
const JSON_FUNCS = [
  'json_array', 'json_object', 'json_extract', 'json_unquote', 'json_contains', 'json_contains_path', 'json_length', 'json_keys',
  'json_valid', 'json_type', 'json_quote', 'json_value', 'json_set', 'json_insert', 'json_replace', 'json_remove',
  'json_merge_patch', 'json_merge_preserve', 'json_depth',
];
const CONTROL = ['coalesce', 'ifnull', 'nullif', 'if', 'greatest', 'least', 'isnull'];
const STRING = [
  'length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'lower', 'upper', 'lcase', 'ucase', 'concat',
  'concat_ws', 'substring', 'substr', 'mid', 'substring_index', 'trim', 'ltrim', 'rtrim', 'replace', 'left', 'right',
  'locate', 'instr', 'position', 'reverse', 'md5', 'sha1', 'sha2', 'hex', 'unhex', 'ascii', 'ord', 'field', 'find_in_set',
  'strcmp', 'format', 'soundex', 'quote', 'to_base64', 'from_base64', 'uuid',
];
const MATH = [
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'truncate', 'mod', 'sign', 'sqrt', 'power', 'pow', 'exp', 'ln', 'log', 'log10',
  'log2', 'pi', 'rand', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'cot', 'crc32', 'conv',
];
const DATE = [
  'now', 'current_timestamp', 'current_date', 'current_time', 'curdate', 'curtime', 'utc_timestamp', 'utc_date', 'utc_time',
  'localtime', 'localtimestamp', 'sysdate', 'date', 'time', 'timestamp', 'date_format', 'time_format', 'datediff', 'timediff',
  'timestampdiff', 'timestampadd', 'year', 'month', 'day', 'dayofmonth', 'dayofweek', 'dayofyear', 'dayname', 'monthname',
  'hour', 'minute', 'second', 'microsecond', 'week', 'weekday', 'weekofyear', 'yearweek', 'quarter', 'last_day',
  'unix_timestamp', 'from_unixtime', 'str_to_date', 'makedate', 'maketime', 'to_days', 'from_days', 'convert_tz',
];

export const MYSQL_FUNCTIONS: ReadonlySet<string> = new Set([...AGGREGATES, ...WINDOW, ...JSON_FUNCS, ...CONTROL, ...STRING, ...MATH, ...DATE]);

export const MYSQL_CAST_TYPES: ReadonlySet<string> = new Set([
  'SIGNED', 'UNSIGNED', 'CHAR', 'DATE', 'DATETIME', 'TIME', 'DECIMAL', 'JSON', 'BINARY', 'DOUBLE', 'FLOAT', 'INTEGER', 'INT',
]);

/** Databases no permission can open. */
export const MYSQL_SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['information_schema', 'mysql', 'performance_schema', 'sys']);
