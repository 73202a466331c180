/**
 * What a statement may call, cast to and compare with. Everything not listed is refused: the
 * validator fails closed. Names are Postgres built-ins (pg_catalog); config `sql.allowFunctions`
 * and `sql.allowTypes` extend the lists for a deployment's own safe functions and types.
 *
 * Deliberately absent: anything that reads server state or files, sleeps, signals, locks, touches
 * sequences, large objects or other databases (pg_sleep, current_setting, set_config, pg_read_file,
 * lo_*, dblink, query_to_xml, version, nextval, txid_*, pg_advisory_*), and functions that can
 * allocate huge values from tiny input (repeat, lpad, rpad, array_fill, jsonb_pretty,
 * jsonb_path_query_array: function-costs.ts refuses them even when `sql.allowFunctions` lists them).
 * What the listed ones may cost, and which of their arguments must be short, is in function-costs.ts.
 */
const AGGREGATES = [
  'count', 'sum', 'avg', 'min', 'max', 'array_agg', 'string_agg', 'json_agg', 'jsonb_agg', 'json_object_agg',
  'jsonb_object_agg', 'bool_and', 'bool_or', 'every', 'bit_and', 'bit_or', 'stddev', 'stddev_pop', 'stddev_samp',
  'variance', 'var_pop', 'var_samp', 'percentile_cont', 'percentile_disc', 'mode', 'corr', 'covar_pop', 'covar_samp',
  'regr_avgx', 'regr_avgy', 'regr_count', 'regr_intercept', 'regr_r2', 'regr_slope', 'regr_sxx', 'regr_sxy', 'regr_syy',
  'any_value',
];
const WINDOW = ['row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead', 'first_value', 'last_value', 'nth_value'];
const JSON_FUNCS = [
  'json_build_array', 'json_build_object', 'jsonb_build_array', 'jsonb_build_object', 'to_json', 'to_jsonb', 'row_to_json',
  'array_to_json', 'json_array_length', 'jsonb_array_length', 'json_extract_path', 'json_extract_path_text',
  'jsonb_extract_path', 'jsonb_extract_path_text', 'json_typeof', 'jsonb_typeof', 'jsonb_set', 'jsonb_set_lax', 'jsonb_insert',
  'jsonb_strip_nulls', 'json_strip_nulls', 'json_object', 'jsonb_object', 'json_array_elements',
  'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_each', 'jsonb_each', 'json_each_text',
  'jsonb_each_text', 'json_object_keys', 'jsonb_object_keys', 'json_to_record', 'jsonb_to_record', 'json_to_recordset',
  'jsonb_to_recordset', 'jsonb_path_exists', 'jsonb_path_match', 'jsonb_path_query', 'jsonb_path_query_first',
];
const STRING = [
  'length', 'char_length', 'character_length', 'octet_length', 'bit_length', 'lower', 'upper', 'initcap', 'btrim', 'ltrim',
  'rtrim', 'substr', 'substring', 'replace', 'translate', 'position', 'strpos', 'left', 'right', 'concat', 'concat_ws',
  'split_part', 'reverse', 'md5', 'sha256', 'sha512', 'encode', 'decode', 'format', 'quote_ident', 'quote_literal',
  'quote_nullable', 'regexp_replace', 'regexp_match', 'regexp_matches', 'regexp_split_to_array', 'regexp_like',
  'regexp_count', 'regexp_instr', 'regexp_substr', 'starts_with', 'string_to_array', 'array_to_string', 'to_char',
  'to_number', 'to_date', 'to_timestamp', 'ascii', 'chr', 'overlay', 'normalize', 'like_escape', 'similar_to_escape',
  'to_hex', 'casefold', 'unistr',
];
const MATH = [
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'power', 'pow', 'exp', 'ln', 'log', 'log10',
  'mod', 'div', 'pi', 'random', 'width_bucket', 'degrees', 'radians', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'atan2',
  'gcd', 'lcm', 'scale', 'trim_scale', 'min_scale',
];
const DATE = [
  'now', 'date_trunc', 'date_part', 'extract', 'age', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz',
  'make_interval', 'date_bin', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'timezone', 'isfinite',
  'justify_days', 'justify_hours', 'justify_interval', 'date_add', 'date_subtract', 'overlaps',
];
const ARRAY = [
  'array_length', 'array_position', 'array_positions', 'array_append', 'array_prepend', 'array_cat', 'array_remove',
  'array_replace', 'cardinality', 'unnest', 'array_lower', 'array_upper', 'array_ndims', 'array_dims', 'generate_series',
  'generate_subscripts', 'trim_array', 'array_reverse', 'array_sort',
];
const MISC = ['gen_random_uuid', 'num_nonnulls', 'num_nulls', 'bool', 'int4', 'int8', 'text', 'numeric', 'float8', 'date'];
const TEXT_SEARCH = [
  'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery', 'ts_rank', 'ts_rank_cd',
  'ts_headline', 'setweight', 'strip', 'tsvector_to_array', 'array_to_tsvector', 'numnode', 'querytree',
];

export const BUILTIN_FUNCTIONS: ReadonlySet<string> = new Set([
  ...AGGREGATES, ...WINDOW, ...JSON_FUNCS, ...STRING, ...MATH, ...DATE, ...ARRAY, ...MISC, ...TEXT_SEARCH,
]);

/** Type names as the parser reports them (after `pg_catalog.` is stripped). reg* types are never here. */
export const BUILTIN_TYPES: ReadonlySet<string> = new Set([
  'bool', 'boolean', 'int2', 'int4', 'int8', 'smallint', 'integer', 'int', 'bigint', 'float4', 'float8', 'real', 'numeric',
  'decimal', 'text', 'varchar', 'char', 'bpchar', 'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval', 'json',
  'jsonb', 'uuid', 'bytea', 'inet', 'cidr', 'macaddr', 'macaddr8', 'tsvector', 'tsquery', 'bit', 'varbit', 'money',
  'point', 'int4range', 'int8range', 'numrange', 'tsrange', 'tstzrange', 'daterange', 'jsonpath', 'citext',
]);

/** Operators by symbol. Schema-qualified operators (OPERATOR(schema.op)) are always refused. */
export const OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '!=', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '^', '||', '~~', '!~~', '~~*', '!~~*', '~', '~*', '!~',
  '!~*', '@>', '<@', '?', '?|', '?&', '->', '->>', '#>', '#>>', '#-', '&&', '@@', '|', '&', '#', '<<', '>>', '@', '|/',
  '||/', '-|-', '&<', '&>', '@?',
]);

/** SQLValueFunction ops that are pure clock reads (CURRENT_USER and friends reveal server state). */
export const SQL_VALUE_FUNCTIONS: ReadonlySet<string> = new Set([
  'SVFOP_CURRENT_DATE', 'SVFOP_CURRENT_TIME', 'SVFOP_CURRENT_TIME_N', 'SVFOP_CURRENT_TIMESTAMP',
  'SVFOP_CURRENT_TIMESTAMP_N', 'SVFOP_LOCALTIME', 'SVFOP_LOCALTIME_N', 'SVFOP_LOCALTIMESTAMP', 'SVFOP_LOCALTIMESTAMP_N',
]);

/**
 * Drizzle pg-proxy parameter typings → the cast applied to the placeholder. `timestamp` gets none:
 * Drizzle sends a Date as toISOString() ("…Z"), and a ::timestamp cast would drop the zone, so a
 * timestamptz column would read it in the session's TimeZone. Uncast, Postgres types it from context.
 */
export const TYPING_CASTS: Readonly<Record<string, string | null>> = {
  none: null,
  json: 'json',
  jsonb: 'jsonb',
  timestamp: null,
  date: 'date',
  time: 'time',
  decimal: 'numeric',
  uuid: 'uuid',
};
