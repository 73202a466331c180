/**
 * What each MySQL/MariaDB built-in costs (common/function-costs.ts). Every function of
 * MYSQL_FUNCTIONS has an entry (test/unit/sql/function-costs.test.ts); a function added with
 * `sql.allowFunctions` counts as 'sum'. The refused ones stay refused even when allowed by config.
 *
 * Measured on MariaDB 10.11 (SET STATEMENT max_statement_time=0.5 FOR …): REPLACE() of a 2.5 MB
 * string with a shorter or longer replacement ran 56 s — it moves the rest of the string for every
 * match — and neither max_statement_time nor KILL QUERY/CONNECTION stops it; LIKE with a
 * 20 KB pattern over 100 KB 17 s, INSTR/LOCATE with a 20 KB needle 2 s, REGEXP '(a|aa)+$' over
 * 1 MB 16 s, all past their deadline. Recursion stops at max_recursive_iterations, JSON
 * functions and aggregation stop at the deadline. Strings are capped at max_allowed_packet,
 * GROUP_CONCAT/JSON_ARRAYAGG at group_concat_max_len.
 */
import { costs, FIXED, SUM, type FunctionCost } from '../common/function-costs.js';

const ESCAPED: FunctionCost = { growth: { times: 2 } };
const REGEX = { refuse: "MariaDB's regular expressions (PCRE) can backtrack for minutes on short input, past max_statement_time and KILL" };
const SIZED = { refuse: 'its result size is given by an argument' };

export const MYSQL_FUNCTION_COSTS: Readonly<Record<string, FunctionCost>> = {
  ...costs(['count', 'sum', 'avg', 'bit_and', 'bit_or', 'bit_xor', 'std', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'], FIXED),
  ...costs(['min', 'max', 'group_concat'], SUM),
  ...costs(['json_arrayagg', 'json_objectagg'], ESCAPED),
  ...costs(['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile'], FIXED),
  ...costs(['lag', 'lead', 'first_value', 'last_value', 'nth_value'], SUM),
  ...costs(['json_array', 'json_object', 'json_quote', 'json_set', 'json_insert', 'json_replace'], ESCAPED),
  ...costs(['json_extract', 'json_unquote', 'json_keys', 'json_value', 'json_remove', 'json_merge_patch', 'json_merge_preserve'], SUM),
  ...costs(['json_contains', 'json_contains_path', 'json_length', 'json_valid', 'json_type', 'json_depth'], FIXED),
  // 'all' repeats the path of every match: a long key copied once per element below it.
  json_search: { growth: { refuse: "it returns the path of every match, repeating long keys once per match (use JSON_CONTAINS or JSON_EXTRACT)" } },
  ...costs(['coalesce', 'ifnull', 'nullif', 'if', 'greatest', 'least'], { growth: 'max' }),
  isnull: FIXED,
  ...costs(['length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'md5', 'sha1', 'sha2', 'ascii', 'ord'], FIXED),
  // FORMAT(x, d): MariaDB caps d at 38 decimals.
  ...costs(['field', 'find_in_set', 'strcmp', 'format', 'uuid'], FIXED),
  ...costs(['lower', 'upper', 'lcase', 'ucase', 'concat', 'substring', 'substr', 'mid', 'trim', 'ltrim', 'rtrim', 'left', 'right'], SUM),
  ...costs(['reverse', 'unhex', 'soundex', 'from_base64'], SUM),
  concat_ws: { growth: { separator: 0 } },
  substring_index: { growth: 'sum', short: [1] },
  locate: { growth: 'fixed', short: [0] },
  position: { growth: 'fixed', short: [0] },
  instr: { growth: 'fixed', short: [1] },
  replace: { growth: { replace: { subject: 0, from: 1, to: 2, sameLength: true } } },
  ...costs(['hex', 'quote'], ESCAPED),
  // base64 with a line break every 76 characters
  to_base64: ESCAPED,
  ...costs(['regexp_like', 'regexp_replace', 'regexp_instr', 'regexp_substr'], { growth: REGEX }),
  ...costs(['repeat', 'lpad', 'rpad', 'space'], { growth: SIZED }),
  ...costs(['abs', 'ceil', 'ceiling', 'floor', 'round', 'truncate', 'mod', 'sign', 'sqrt', 'power', 'pow', 'exp', 'ln', 'log', 'log10'], FIXED),
  ...costs(['log2', 'pi', 'rand', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2', 'cot', 'crc32', 'conv'], FIXED),
  ...costs(['now', 'current_timestamp', 'current_date', 'current_time', 'curdate', 'curtime', 'utc_timestamp', 'utc_date', 'utc_time'], FIXED),
  ...costs(['localtime', 'localtimestamp', 'sysdate', 'date', 'time', 'timestamp', 'datediff', 'timediff', 'timestampdiff', 'timestampadd'], FIXED),
  ...costs(['year', 'month', 'day', 'dayofmonth', 'dayofweek', 'dayofyear', 'dayname', 'monthname', 'hour', 'minute', 'second'], FIXED),
  ...costs(['microsecond', 'week', 'weekday', 'weekofyear', 'yearweek', 'quarter', 'last_day', 'unix_timestamp', 'str_to_date'], FIXED),
  ...costs(['makedate', 'maketime', 'to_days', 'from_days', 'convert_tz'], FIXED),
  // '%W' prints up to 9 characters: 5 per format character bounds every specifier
  ...costs(['date_format', 'time_format', 'from_unixtime'], { growth: { times: 5 } }),
};
