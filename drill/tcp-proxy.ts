/**
 * A TCP forwarder on loopback: the drill's stand-in for the DNS name of an ElastiCache primary endpoint.
 *
 * The instances connect to the proxy, never to a Redis server directly. A failover repoints the proxy to
 * the promoted replica and closes every open connection, which is what clients of ElastiCache see: the
 * endpoint's DNS record moves to the new primary and connections to the old one break, so the Redis
 * client reconnects and lands on the new primary without a restart or a configuration change.
 */
import * as net from 'node:net';

/** Where the proxy forwards new connections. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** A started TCP proxy. */
export class TcpProxy {
  /**
   * Starts a proxy forwarding to `target`, listening on `listen` (a loopback address and port: an endpoint's
   * name), by default a free port on 127.0.0.1.
   */
  public static async start(
    target: ProxyTarget,
    listen: ProxyTarget = { host: '127.0.0.1', port: 0 },
  ): Promise<TcpProxy> {
    const proxy = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error) =>
        reject(new Error(`TCP proxy cannot listen on ${listen.host}:${listen.port}: ${err.message}`));
      proxy.server.once('error', failed);
      proxy.server.listen(listen.port, listen.host, () => {
        proxy.server.off('error', failed);
        resolve();
      });
    });
    return proxy;
  }

  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private currentTarget: ProxyTarget;

  private constructor(target: ProxyTarget) {
    this.currentTarget = target;
    this.server = net.createServer((client) => this.forward(client));
  }

  /** Port the proxy listens on. */
  public get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Address the proxy listens on (a loopback address). */
  public get host(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  /** Where new connections go. */
  public get target(): ProxyTarget {
    return this.currentTarget;
  }

  /** Sends new connections to `target` and breaks every open one, as an endpoint failover does. */
  public repoint(target: ProxyTarget): void {
    this.currentTarget = target;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Stops listening and breaks every open connection. */
  public async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private forward(client: net.Socket): void {
    const upstream = net.connect(this.currentTarget.port, this.currentTarget.host);
    const pair = [client, upstream];
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        this.sockets.delete(socket);
        for (const other of pair) other.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
