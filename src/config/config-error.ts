/**
 * A bad configuration. Not a SluiceError: it never reaches a client, it stops start-up, so its
 * message must name the offending key well enough to fix the file without reading code.
 */
export interface ConfigIssue {
  /** Dotted key path, e.g. `auth.jwt.algorithms[0]`; empty for the root. */
  path: string;
  message: string;
}

export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }

  static at(path: readonly PropertyKey[], message: string): ConfigError {
    return new ConfigError([{ path: formatPath(path), message }]);
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? `config error: ${issue.message}` : `config error at ${issue.path}: ${issue.message}`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `["auth","jwt","algorithms",0]` → `auth.jwt.algorithms[0]`; odd keys (with dots) are bracketed. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}
