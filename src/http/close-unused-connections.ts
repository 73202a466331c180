/**
 * server.close() ends idle keep-alive connections (Node calls closeIdleConnections) but not one
 * that has not sent a request yet: Node counts such a connection as active from the moment it is
 * accepted, so that headersTimeout can reap a client that never sends. close() then waits for it,
 * up to headersTimeout plus Node's 30 s check interval (~60–90 s), holding a SIGTERM shutdown past
 * any grace period. Clients do open connections ahead of need: undici (fetch) opens a spare one
 * right after a request is aborted, load balancers pre-connect.
 *
 * So when the server closes, the connections that have not sent a byte are destroyed: no request
 * has begun on them, so nothing is cut off. One with a request under way (or part of one) is left
 * to finish; its answer carries `Connection: close` (app.ts).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface UnusedConnections {
  /** Destroy every open connection that has not sent a byte. */
  close(): void;
}

export function trackUnusedConnections(server: Server): UnusedConnections {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return {
    close() {
      // bytesRead includes what the HTTP parser consumed straight from the handle.
      for (const socket of open) if (socket.bytesRead === 0) socket.destroy();
    },
  };
}
