/** The UDP side of a simulated host: a table of bound ports and their message handlers. */
import { SvrError } from '../errors.js';

export interface UdpSender {
  address: string;
  port: number;
}

/** Receives one datagram: `data` is a copy you may keep. */
export type UdpMessageHandler = (data: Uint8Array, from: UdpSender) => void;

export class UdpTable {
  private readonly bound = new Map<number, UdpMessageHandler>();

  bind(hostAddress: string, port: number, onMessage: UdpMessageHandler): void {
    if (this.bound.has(port)) throw new SvrError('SVR_ERR_SIM_PORT_IN_USE', `${hostAddress}: UDP port ${port} is already bound`);
    this.bound.set(port, onMessage);
  }

  unbind(port: number): void {
    this.bound.delete(port);
  }

  handler(port: number): UdpMessageHandler | undefined {
    return this.bound.get(port);
  }

  clear(): void {
    this.bound.clear();
  }
}
