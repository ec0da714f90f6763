/** Simulated end hosts with real UDP and TCP stacks, for tests and examples that run in one process. */
export { SimHost, type SimHostOptions } from './host.js';
export type { HostStats } from './stats.js';
export {
  DEFAULT_TCP_OPTIONS, TcpConnection, type TcpCloseReason, type TcpConnectionEvents, type TcpOptions, type TcpState,
} from './tcp.js';
export type { ConnectionHandler, TcpConnectOptions } from './tcp-stack.js';
export type { UdpMessageHandler, UdpSender } from './udp.js';
export { TypedEmitter, type EventMap, type Listener } from './emitter.js';
