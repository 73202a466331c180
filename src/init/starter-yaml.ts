/**
 * The starting config as YAML, the format people edit, with comments that say what each part
 * allows and why a table is missing. Secrets are never written: the URL and the JWT secret are
 * `${ENV}` placeholders, read when sluice starts.
 */
import { Document, isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import type { LeftOutTable, StarterOptions, StarterPlan } from './starter-plan.js';

export const DATABASE_URL_ENV = 'DATABASE_URL';
export const JWT_SECRET_ENV = 'JWT_SECRET';
export const STARTER_ROLE = 'member';
export const STARTER_CONNECTION = 'main';

export interface StarterSource {
  /** The `connections.main` entry: `{ dialect, url: "${DATABASE_URL}", … }`, or a SQLite file. */
  readonly connection: Record<string, unknown> | string;
  /** Where the catalog came from, without credentials (for the header). */
  readonly description: string;
}

const TO_STRING = { lineWidth: 0, flowCollectionPadding: false } as const;

function header(o: StarterOptions, source: StarterSource): string {
  const t = o.tenantColumn;
  return [
    ` Written by \`sluice init --from-database\` from ${source.description}.`,
    ` Nothing secret is in this file: the connection URL and the JWT secret are read from the`,
    ` environment (${DATABASE_URL_ENV}, ${JWT_SECRET_ENV}) when sluice starts.`,
    '',
    ` Role "${STARTER_ROLE}", on every table with a ${t} column, sees only the rows whose ${t} is the`,
    ` token's "${o.tenantClaim}" claim: it reads every column; inserts rows (${t} is always written by`,
    ' sluice from the token, never by the client); updates every column but the tenant column and the',
    ' primary key; deletes. Columns the database computes are never written, primary-key columns it',
    ` fills itself never inserted; views are read-only. Tables without ${t} are left out (listed`,
    ' at the end). Narrow each entry to what your app needs: docs/configuration.md#permissions',
    '',
    ` Try:   sluice check --config FILE --claims '{"role":"${STARTER_ROLE}","${o.tenantClaim}":1}' --sql 'select …'`,
    ` Serve: ${DATABASE_URL_ENV}=… ${JWT_SECRET_ENV}=… sluice serve --config FILE`,
  ].join('\n');
}

/** Short lists and filters on one line, as people write them. */
function flowLeaves(node: unknown): void {
  if (isSeq(node)) {
    node.flow = node.items.every((i) => isScalar(i));
    return;
  }
  if (!isMap(node)) return;
  const scalarsOnly = node.items.every((p) => isScalar(p.value));
  if (scalarsOnly && node.items.length > 0) node.flow = true;
  else for (const p of node.items) flowLeaves(p.value);
}

/** `key: {…}` on one line, ready to be uncommented in place. */
function oneLine(key: string, value: unknown): string {
  const text = (v: unknown, style: 'any' | 'flow'): string => new Document(v).toString({ ...TO_STRING, collectionStyle: style }).trim();
  return `${text(key, 'any')}: ${text(value, 'flow')}`;
}

const LEFT_OUT_TITLES: Record<LeftOutTable['reason'], (t: string) => string> = {
  'no-tenant-column': (t) =>
    ` Left out: no ${t} column, so no row filter can keep tenants apart. A table every tenant may\n read (a lookup table) can be let in read-only by uncommenting its line:`,
  name: () => ' Left out: names that need quoting (sluice takes unquoted names only: letters, digits, _):',
  partition: () => ' Left out: partitions, reached through their parent table:',
};

function leftOutLine(t: LeftOutTable): string {
  // One space after "#": deleting "# " leaves the line aligned with the tables above it.
  if (t.reason === 'no-tenant-column') return ` ${oneLine(t.key, { select: { columns: t.columns } })}`;
  if (t.reason === 'partition') return ` ${t.key} (partition of ${t.parent})`;
  return ` ${JSON.stringify(t.key)}`;
}

function leftOutComment(plan: StarterPlan, o: StarterOptions): string | undefined {
  const blocks = (Object.keys(LEFT_OUT_TITLES) as LeftOutTable['reason'][]).flatMap((reason) => {
    const tables = plan.leftOut.filter((t) => t.reason === reason);
    return tables.length === 0 ? [] : [[LEFT_OUT_TITLES[reason](o.tenantColumn), ...tables.map(leftOutLine)].join('\n')];
  });
  return blocks.length === 0 ? undefined : blocks.join('\n\n');
}

function tablesNode(doc: Document, plan: StarterPlan, o: StarterOptions): YAMLMap {
  const tables = doc.createNode(Object.fromEntries(plan.tables.map((t) => [t.key, t.permission]))) as YAMLMap;
  for (const p of tables.items) flowLeaves(p.value);
  plan.tables.forEach((t, i) => {
    if (t.notes.length > 0) (tables.items[i]!.key as Node).commentBefore = t.notes.map((n) => ` ${n}`).join('\n');
  });
  if (plan.tables.length === 0) tables.commentBefore = ` No table has a ${o.tenantColumn} column: the role may do nothing yet.`;
  const comment = leftOutComment(plan, o);
  if (comment !== undefined) tables.comment = comment;
  return tables;
}

export function starterYaml(plan: StarterPlan, o: StarterOptions, source: StarterSource): string {
  const doc = new Document({
    auth: {
      jwt: { secret: `\${${JWT_SECRET_ENV}}`, algorithms: ['HS256'] },
      claims: { role: 'role', tenant: o.tenantClaim, user: 'sub' },
    },
    connections: { [STARTER_CONNECTION]: source.connection },
    sql: { literals: 'refuse-strings' },
    permissions: { [STARTER_ROLE]: { [STARTER_CONNECTION]: {} } },
  });
  doc.commentBefore = header(o, source);
  const auth = doc.get('auth') as YAMLMap;
  (auth.items[0]!.key as Node).commentBefore =
    ` HS256 with a shared secret (at least 32 characters). Tokens from an identity provider\n (Supabase, Auth0, Clerk, any OIDC provider): docs/auth-providers.md`;
  auth.comment = ` defaultRole: ${STARTER_ROLE}    # the role of tokens without a role claim (absent: they are refused)`;
  flowLeaves(doc.getIn(['auth', 'jwt']));
  flowLeaves(doc.getIn(['auth', 'claims']));
  flowLeaves(doc.getIn(['connections', STARTER_CONNECTION]));
  (doc.get('sql') as YAMLMap).commentBefore =
    ' Values travel as parameters: a quoted string, date or hex literal written into the SQL text is\n refused (LITERAL_NOT_ALLOWED), so SQL built by string concatenation fails the first time it runs.\n Numbers, booleans, NULL and DEFAULT are accepted. allow | refuse-strings | refuse: docs/security.md#parameters-only-mode';
  (doc.getIn(['permissions', STARTER_ROLE]) as YAMLMap).set(STARTER_CONNECTION, tablesNode(doc, plan, o));
  const text = doc.toString(TO_STRING);
  return text.endsWith('\n') ? text : `${text}\n`;
}
