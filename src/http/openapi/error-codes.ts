/**
 * Which registry codes each operation can answer with, for the OpenAPI description. Groups, not
 * per-code lists, so a new code lands somewhere by default (QUERY: whatever the statement's check,
 * the queue, the pool or the database may say) and the description cannot silently miss it.
 */
import { ERRORS, type ErrorCode } from '../../errors.js';

const ALL = Object.keys(ERRORS) as ErrorCode[];

/** Any request, answered by the HTTP layer itself. */
export const HTTP_CODES: ErrorCode[] = ['BAD_REQUEST', 'REQUEST_TIMEOUT', 'HEADERS_TOO_LARGE', 'SHUTTING_DOWN', 'INTERNAL_ERROR'];
/** Requests with a JSON body. */
export const BODY_CODES: ErrorCode[] = ['BODY_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'JSON_TOO_DEEP'];
/** The bearer token and the rate limits (/data, /jobs). */
export const AUTH_CODES: ErrorCode[] = ['TOKEN_MISSING', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'RATE_LIMITED', 'CLAIM_MISSING', 'CLAIM_AMBIGUOUS'];
/** Checks made when a statement is accepted, before it is queued. */
export const SUBMIT_CODES: ErrorCode[] = ['UNKNOWN_CONNECTION', 'SQL_TOO_LONG', 'TOO_MANY_PARAMS', 'METHOD_NOT_SUPPORTED', 'TENANT_UNKNOWN', 'TENANT_SUSPENDED', 'TENANT_MAINTENANCE', 'CONNECTION_NOT_ROUTED', 'QUEUE_UNAVAILABLE'];
export const JOB_CODES: ErrorCode[] = ['JOB_NOT_FOUND', 'JOB_NOT_FINISHED', 'JOB_QUOTA_EXCEEDED'];
export const ADMIN_CODES: ErrorCode[] = ['CONFIG_INVALID'];
/** In the code list, never an operation's answer: CLIENT_CLOSED is only logged; NOT_FOUND answers paths that are no operation. */
export const UNROUTED_CODES: ErrorCode[] = ['CLIENT_CLOSED', 'NOT_FOUND'];

const NAMED = new Set<ErrorCode>([...HTTP_CODES, ...BODY_CODES, ...AUTH_CODES, ...SUBMIT_CODES, ...JOB_CODES, ...ADMIN_CODES, ...UNROUTED_CODES]);
/** Everything else: what running a statement can end in. */
export const QUERY_CODES: ErrorCode[] = ALL.filter((c) => !NAMED.has(c));
