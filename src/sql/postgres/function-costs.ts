/**
 * What each Postgres built-in costs (common/function-costs.ts): how large its result can be
 * relative to its arguments, and which arguments must be short. Every function of
 * BUILTIN_FUNCTIONS has an entry (test/unit/sql/function-costs.test.ts); a function added with
 * `sql.allowFunctions` counts as 'sum'. The refused ones stay refused even when allowed by config.
 *
 * Measured on Postgres 15 (a 1 s statement_timeout): strpos(200 KB × 100 KB) ran 35 s,
 * translate(80 KB, 80 KB set) 87 s, LIKE with a 100 KB pattern 27 s, btrim with a 256-character
 * set over 4 MB 8 s — none of them checks for a cancel. Regular expressions, set-returning
 * functions, aggregation and recursion do, and are left to statement_timeout.
 */
import { costs, FIXED, SUM, type FunctionCost } from '../common/function-costs.js';

const ESCAPED: FunctionCost = { growth: { times: 2 } };
const SEARCH_1: FunctionCost = { growth: 'fixed', short: [1] };

export const PG_FUNCTION_COSTS: Readonly<Record<string, FunctionCost>> = {
  // aggregates: the row count is time, which statement_timeout bounds; the per-row value is what counts here
  ...costs(['count', 'avg', 'sum', 'bool_and', 'bool_or', 'every', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp'], FIXED),
  ...costs(['percentile_cont', 'corr', 'covar_pop', 'covar_samp', 'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2'], FIXED),
  ...costs(['regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy'], FIXED),
  ...costs(['min', 'max', 'mode', 'percentile_disc', 'any_value', 'string_agg', 'bit_and', 'bit_or'], SUM),
  ...costs(['array_agg', 'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg'], ESCAPED),
  // window functions
  ...costs(['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile'], FIXED),
  ...costs(['lag', 'lead', 'first_value', 'last_value', 'nth_value'], SUM),
  // JSON: building quotes and escapes strings (a control character becomes \u00XX once; after
  // that only quotes and backslashes double, so 2 per level bounds any nesting within a factor 3)
  ...costs(['json_build_array', 'json_build_object', 'jsonb_build_array', 'jsonb_build_object', 'to_json', 'to_jsonb'], ESCAPED),
  ...costs(['row_to_json', 'array_to_json', 'json_object', 'jsonb_object'], ESCAPED),
  ...costs(['json_array_length', 'jsonb_array_length', 'json_typeof', 'jsonb_typeof'], FIXED),
  ...costs(['jsonb_path_exists', 'jsonb_path_match'], SEARCH_1),
  ...costs(['jsonb_path_query', 'jsonb_path_query_first'], { growth: 'sum', short: [1] }),
  ...costs(['json_extract_path', 'json_extract_path_text', 'jsonb_extract_path', 'jsonb_extract_path_text', 'jsonb_set', 'jsonb_set_lax'], SUM),
  ...costs(['jsonb_insert', 'jsonb_strip_nulls', 'json_strip_nulls', 'json_array_elements', 'jsonb_array_elements'], SUM),
  ...costs(['json_array_elements_text', 'jsonb_array_elements_text', 'json_each', 'jsonb_each', 'json_each_text', 'jsonb_each_text'], SUM),
  ...costs(['json_object_keys', 'jsonb_object_keys', 'json_to_record', 'jsonb_to_record', 'json_to_recordset', 'jsonb_to_recordset'], SUM),
  jsonb_pretty: { growth: { refuse: 'it indents every line by its nesting depth, so its output grows with the square of its input' } },
  jsonb_path_query_array: { growth: { refuse: 'it collects every match of the path into one value; with .** that is the square of its input (use jsonb_path_query)' } },
  // strings
  ...costs(['length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'md5', 'sha256', 'sha512', 'ascii', 'chr'], FIXED),
  ...costs(['to_number', 'to_date', 'to_timestamp', 'to_hex', 'starts_with'], FIXED),
  ...costs(['strpos', 'position', 'regexp_like', 'regexp_count', 'regexp_instr'], SEARCH_1),
  ...costs(['lower', 'upper', 'initcap', 'substr', 'substring', 'left', 'right', 'reverse', 'overlay', 'decode', 'unistr', 'like_escape'], SUM),
  ...costs(['btrim', 'ltrim', 'rtrim', 'split_part', 'regexp_substr'], { growth: 'sum', short: [1] }),
  translate: { growth: 'sum', short: [1, 2] },
  concat: SUM,
  concat_ws: { growth: { separator: 0 } },
  ...costs(['quote_ident', 'quote_literal', 'quote_nullable', 'similar_to_escape'], ESCAPED),
  casefold: { growth: { times: 3 } },
  // NFKD/NFKC expand a character into at most 18 (U+FDFA)
  normalize: { growth: { times: 18 } },
  // escape format: \ooo for every non-printable byte
  encode: { growth: { times: 4 } },
  // 'RN' prints up to 15 characters, 'Day' 9: 8 per template character bounds them
  to_char: { growth: { times: 8 } },
  replace: { growth: { replace: { subject: 0, from: 1, to: 2 } } },
  regexp_replace: { growth: { scaled: [2] }, short: [1] },
  ...costs(['regexp_match', 'regexp_matches'], { growth: { captures: { subject: 0, pattern: 1 } } }),
  // every piece of the subject becomes a quoted array element ("\"",)
  regexp_split_to_array: { growth: { times: 5 }, short: [1] },
  string_to_array: { growth: { times: 5 }, short: [1, 2] },
  array_to_string: { growth: { scaled: [1, 2] } },
  // format() and ts_headline() are checked by the walker (expressions.ts): their arguments' roles depend on the call
  repeat: { growth: { refuse: 'its result size is given by an argument' } },
  lpad: { growth: { refuse: 'its result size is given by an argument' } },
  rpad: { growth: { refuse: 'its result size is given by an argument' } },
  // math and dates: numbers (numeric's size is bounded by Postgres) and timestamps
  ...costs(['abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'power', 'pow', 'exp', 'ln', 'log', 'log10'], FIXED),
  ...costs(['mod', 'div', 'pi', 'random', 'width_bucket', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2'], FIXED),
  ...costs(['gcd', 'lcm', 'scale', 'trim_scale', 'min_scale'], FIXED),
  ...costs(['now', 'date_trunc', 'date_part', 'extract', 'age', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz'], FIXED),
  ...costs(['make_interval', 'date_bin', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timezone', 'isfinite'], FIXED),
  ...costs(['justify_days', 'justify_hours', 'justify_interval', 'date_add', 'date_subtract', 'overlaps'], FIXED),
  // arrays
  ...costs(['array_length', 'array_position', 'cardinality', 'array_lower', 'array_upper', 'array_ndims', 'array_dims'], FIXED),
  ...costs(['generate_series', 'generate_subscripts'], FIXED),
  array_positions: ESCAPED,
  ...costs(['array_append', 'array_prepend', 'array_cat', 'array_remove', 'array_replace', 'unnest', 'trim_array', 'array_reverse', 'array_sort'], SUM),
  array_fill: { growth: { refuse: 'its result size is given by an argument' } },
  // misc
  ...costs(['gen_random_uuid', 'num_nonnulls', 'num_nulls', 'bool', 'int4', 'int8', 'numeric', 'float8', 'date'], FIXED),
  text: SUM,
  // text search
  ...costs(['to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery'], { growth: { times: 4 } }),
  ...costs(['ts_rank', 'ts_rank_cd', 'numnode'], FIXED),
  ...costs(['setweight', 'tsvector_to_array', 'array_to_tsvector'], ESCAPED),
  ...costs(['strip', 'querytree'], SUM),
};
