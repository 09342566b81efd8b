// The config module's public API (see config.ts and README.md).
export {
  ConfigError,
  CONFIG_DEFAULTS,
  KEY_SPECS,
  LOG_LEVELS,
  VERSIONING_MODES,
  ensureRootDir,
  loadConfigFile,
  nodeIdOf,
  parseConfig,
  toNodeConfig,
} from "./config.ts";
export type { KeySpec, LogLevel, MecConfig, PeerAddress } from "./config.ts";
export { isLoopbackHost } from "./config.ts";
