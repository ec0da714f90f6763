/**
 * Coded errors: `SVR_ERR_<AREA>_<WHAT>`. Every error a user can meet has a code, a message that says
 * what went wrong and where, and (when we know it) how to fix it.
 */
export const ErrorCodes = {
  SVR_ERR_CONFIG_INVALID: 'The configuration is invalid',
  SVR_ERR_CONFIG_READ: 'The configuration file could not be read',
  SVR_ERR_CONFIG_PARSE: 'The configuration file is not valid YAML or JSON',
  SVR_ERR_CONFIG_ROUTER: 'The router is not in the configuration',
  SVR_ERR_PCAP_FORMAT: 'The file is not a pcap capture this tool can read',
  SVR_ERR_IO_TUN_OPEN: 'The TUN device could not be opened',
  SVR_ERR_IO_TUN_PERM: 'Opening a TUN device needs root or CAP_NET_ADMIN',
  SVR_ERR_IO_TUN_MISSING: '/dev/net/tun is missing',
  SVR_ERR_IO_TUN_LINK: 'Configuring a TUN link with ip(8) failed',
  SVR_ERR_NATIVE_MISSING: 'The native addon (build/Release/svr_native.node) is not built or does not load',
  SVR_ERR_IO_PORT: 'A packet port failed',
  SVR_ERR_IO_BUSY_POLL: 'The busy-poll window is out of range',
  SVR_ERR_SHAPER_TC: 'Setting up the kernel egress shaper (tc) failed',
  SVR_ERR_ROUTER_STATE: 'The router is not in a state that allows this',
  SVR_ERR_ROUTER_INTERFACE: 'An interface of the router has no packet port',
  SVR_ERR_WORKER_START: 'A data-path worker thread could not start',
  SVR_ERR_WORKER_TIMEOUT: 'A data-path worker thread did not answer in time (busy, hung or restarting)',
  SVR_ERR_CLI_OPTION: 'A command-line option is invalid',
  SVR_ERR_CLI_SYSTEM: 'The operating system refused what the command tried (a file, socket, address or permission)',
  SVR_ERR_CLI_INTERNAL: 'The command failed unexpectedly (a bug)',
  SVR_ERR_STEP_OPTIONS: 'A STEP (service and topology exchange) option is out of range',
  SVR_ERR_STEP_DOCUMENT_TOO_LARGE: "The router's STEP document is larger than 64 chunks: its peers do not learn what it delivers",
  SVR_ERR_CONTROL_CONNECT: 'The node control socket could not be reached',
  SVR_ERR_CONTROL_REQUEST: 'The node refused a control request',
  SVR_ERR_ROUTING_FRR: 'FRR (zebra, bgpd, bfdd) could not be started or asked',
  SVR_ERR_ROUTING_FPM: 'The FPM listener could not listen',
  SVR_ERR_HA_SYNC: 'The sync link of a router pair could not be opened',
  SVR_ERR_HA_ADDRESS: 'A shared address of a router pair could not be taken or announced',
  SVR_ERR_LAB_ROOT: 'The lab needs root (network namespaces)',
  SVR_ERR_LAB_STATE: 'The lab is not in the expected state',
  SVR_ERR_LAB_TOOL: 'A program the lab needs is not installed',
  SVR_ERR_LAB_COMMAND: 'A command the lab ran failed',
  SVR_ERR_LAB_PROCESS: 'A lab process did not start or stopped unexpectedly',
  SVR_ERR_LAB_TIMEOUT: 'A lab operation timed out',
  SVR_ERR_LAB_INTERRUPTED: 'A lab command was stopped by a signal',
  SVR_ERR_LAB_OPTION: 'A lab option is invalid',
  SVR_ERR_LAB_EMULATOR: 'A lab link emulator could not be reached or refused a command',
  SVR_ERR_STORE_OPEN: 'The state database could not be opened',
  SVR_ERR_PLUGIN_LOAD: 'A plugin could not be loaded',
  SVR_ERR_PLUGIN_OPTIONS: 'A plugin refused its options',
  SVR_ERR_PLUGIN_API: 'A plugin does not support this plugin API version',
  SVR_ERR_PLUGIN_DEP: 'A plugin dependency is missing',
  SVR_ERR_PLUGIN_CONTRACT: 'A plugin violates the plugin contract',
  SVR_ERR_PLUGIN_FAIL_CLOSED: 'A security plugin could not be loaded, or a service chain names a stage no loaded plugin provides: the router does not forward without it',
  SVR_ERR_PCAP_IO: 'The capture file could not be read or written',
  SVR_ERR_SIM_ADDRESS: 'The simulated host cannot use this address',
  SVR_ERR_SIM_PORT_IN_USE: 'The port is already in use on the simulated host',
  SVR_ERR_SIM_TCP_RESET: 'The TCP peer reset the connection',
  SVR_ERR_SIM_TCP_TIMEOUT: 'The TCP peer stopped answering (retransmissions exhausted)',
  SVR_ERR_SIM_TCP_STATE: 'The TCP connection does not allow this in its current state',
  SVR_ERR_SIM_CLOSED: 'The simulated host was closed',
  SVR_ERR_CONDUCTOR_CONFLICT: 'Another commit landed first: the change was based on an older version',
  SVR_ERR_CONDUCTOR_NO_CHANGE: 'The candidate is the same as the running config: nothing to commit',
  SVR_ERR_CONDUCTOR_ROUTER_REFUSED: 'A router refused the new version, so no router activated it',
  SVR_ERR_CONDUCTOR_NOT_FOUND: 'The conductor has no such version, asset, token or user',
  SVR_ERR_CONDUCTOR_PATH: 'A config path (svr config set/delete) does not name a field of the candidate',
  SVR_ERR_CONDUCTOR_ENROL: 'An enrolment was refused (token unknown, used, expired or for another asset)',
  SVR_ERR_CONDUCTOR_AUTH: 'Login failed or the request has no valid token',
  SVR_ERR_CONDUCTOR_FORBIDDEN: 'The user\'s role does not allow this (read-only users cannot write)',
  SVR_ERR_CONDUCTOR_STANDBY: 'This conductor is a standby; the leader serves writes and routers',
  SVR_ERR_CONDUCTOR_STORE: 'The conductor\'s store (LevelDB or etcd) failed',
  SVR_ERR_CONDUCTOR_CONNECT: 'The conductor could not be reached',
  SVR_ERR_CONDUCTOR_REQUEST: 'The conductor refused a malformed request',
  SVR_ERR_CONDUCTOR_PKI: 'A certificate or key could not be made or read',
  SVR_ERR_TELEMETRY_OPTIONS: 'A telemetry option (session records, IPFIX export, history, alarms) is out of range',
  SVR_ERR_HISTORY_QUERY: 'A session history query is invalid',
  SVR_ERR_HISTORY_STORE: 'The session history could not be read or written',
  SVR_ERR_API_START: 'The management API could not start (listen address, port, TLS or token files)',
  SVR_ERR_API_AUTH: 'The API request carries no valid bearer token',
  SVR_ERR_API_FORBIDDEN: "The API token's role does not allow this request",
  SVR_ERR_API_NOT_FOUND: 'No such API route or resource',
  SVR_ERR_API_REQUEST: 'The API request is malformed (a query parameter, path parameter or the body)',
  SVR_ERR_API_BUSY: 'The API is busy or the node did not answer in time; retry shortly',
  SVR_ERR_API_CALL: "A call to a node's management API failed",
  SVR_ERR_API_INTERNAL: 'The API failed to answer (a bug: the node log has the details)',
  SVR_ERR_EXPLAIN_QUERY: 'An svr explain question is invalid (address, protocol, port or interface)',
  SVR_ERR_IDENTITY_KEY: 'A router identity key file is missing or not an X25519 private key',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** An error with a stable code. `data` carries structured data (typed for the errors that have a class: ConfigError). */
export class SvrError<D = unknown> extends Error {
  readonly code: ErrorCode;
  readonly data: D;
  constructor(code: ErrorCode, message: string, data?: D) {
    super(message);
    this.name = 'SvrError';
    this.code = code;
    this.data = data as D;
  }
}

export function isSvrError(e: unknown, code?: ErrorCode): e is SvrError {
  return e instanceof SvrError && (code === undefined || e.code === code);
}

/**
 * One problem of a config: the path of the bad field and what was expected. A file's paths use its
 * kebab-case keys (`authority.routers[0].service-routes[1]`) and have the line and column; a config object's
 * paths use camelCase (`authority.routers[0].serviceRoutes[1]`) and have neither.
 */
export interface ConfigProblem {
  path: string;
  message: string;
  /** 1-based, files only */
  line?: number;
  column?: number;
}

/** What a ConfigError carries: where the config came from and every problem (a parse error is one, with its line). */
export interface ConfigErrorData {
  source: string;
  problems: ConfigProblem[];
}

/** The codes of a refused config: the validator's, and a router's own checks that name a field (its identity key
 *  file; plugins that fail closed). */
export type ConfigErrorCode = 'SVR_ERR_CONFIG_INVALID' | 'SVR_ERR_CONFIG_PARSE' | 'SVR_ERR_CONFIG_READ' | 'SVR_ERR_IDENTITY_KEY' | 'SVR_ERR_PLUGIN_FAIL_CLOSED';

/**
 * A config that was refused: unreadable (CONFIG_READ), not YAML/JSON (CONFIG_PARSE), invalid (CONFIG_INVALID), a
 * handshake path's identity key that cannot be used (IDENTITY_KEY) or plugins that fail closed (PLUGIN_FAIL_CLOSED).
 */
export class ConfigError extends SvrError<ConfigErrorData> {
  constructor(code: ConfigErrorCode, message: string, data: ConfigErrorData) {
    super(code, message, data);
    this.name = 'ConfigError';
  }
}
