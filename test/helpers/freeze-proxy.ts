/**
 * A TCP proxy in front of a real database whose current connections can be frozen: bytes are
 * swallowed both ways and the sockets stay open, as when a NAT or firewall forgets a flow or a host
 * vanishes without a FIN. Connections opened after freezeAll() pass through normally, so a driver
 * that replaces a dead connection gets a working one.
 */
import net from 'node:net';

export interface FreezeProxy {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  freezeAll(): void;
  close(): Promise<void>;
}

export async function startFreezeProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<FreezeProxy> {
  const pairs: { frozen: boolean; sockets: net.Socket[] }[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    const pair = { frozen: false, sockets: [client, upstream] };
    pairs.push(pair);
    for (const s of pair.sockets) s.on('error', () => undefined);
    client.on('data', (d) => void (pair.frozen || upstream.write(d)));
    upstream.on('data', (d) => void (pair.frozen || client.write(d)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => pairs.length,
    freezeAll: () => pairs.forEach((p) => (p.frozen = true)),
    async close() {
      for (const p of pairs) for (const s of p.sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: FreezeProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}
