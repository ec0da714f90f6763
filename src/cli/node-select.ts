/**
 * Which node a command talks to: --socket PATH, else --node NAME (run-dir registry, then a running
 * lab), else the only node running on this host, else the lab's r1.
 */
import { SvrError } from '../errors.js';
import { findNode, liveNodes, runDir } from '../node/registry.js';
import { labNodeSocket } from '../lab/state.js';

export interface NodeSelector {
  socket?: string;
  node?: string;
  runDir?: string;
}

export function selectNodeSocket(o: NodeSelector): string {
  if (o.socket !== undefined) return o.socket;
  const dir = runDir(o.runDir);
  if (o.node !== undefined) {
    const socket = findNode(dir, o.node)?.socket ?? labNodeSocket(o.node);
    if (socket === undefined) {
      const running = liveNodes(dir).map((n) => n.name);
      throw new SvrError('SVR_ERR_CONTROL_CONNECT', `no running node named "${o.node}" in ${dir}/nodes` +
        (running.length > 0 ? ` (running: ${running.join(', ')})` : ' (no node is running; start one with `svr node start`)'));
    }
    return socket;
  }
  const nodes = liveNodes(dir);
  if (nodes.length === 1) return nodes[0]!.socket;
  const lab = labNodeSocket('r1');
  if (lab !== undefined) return lab;
  if (nodes.length === 0) {
    throw new SvrError('SVR_ERR_CONTROL_CONNECT', `no node is running (none registered in ${dir}/nodes); start one with \`svr node start\` or \`svr lab up\`, or pass --socket`);
  }
  throw new SvrError('SVR_ERR_CONTROL_CONNECT', `${nodes.length} nodes are running (${nodes.map((n) => n.name).join(', ')}): pass --node NAME`);
}
