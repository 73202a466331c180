/** The library surface: embed sluice in your own process, or reuse its config validation. */
export { createEngine, type Engine, type EngineOptions } from './engine.js';
export { parseConfig } from './config/schema.js';
export { loadConfigFile } from './config/load.js';
export { ConfigError, type ConfigIssue } from './config/config-error.js';
export type * from './config/types.js';
export { ERRORS, SluiceError, isSluiceError, type ErrorBody, type ErrorCode } from './errors.js';
