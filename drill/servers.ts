/**
 * The data tier of the drill on loopback: PostgreSQL (Aurora stand-in), a Redis primary and a replica
 * (ElastiCache stand-in) behind a TCP proxy (the primary endpoint's DNS name), and a self-signed
 * certificate for HAProxy's TLS listener (the ACM certificate stand-in).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startAll, startPostgres, startRedis, type PostgresServer, type RedisServer } from '../support/local-servers';
import { onCleanup } from './cleanup';
import { TcpProxy } from './tcp-proxy';

/** The running data tier. */
export interface DataTier {
  /** PostgreSQL with the application user and database. */
  readonly postgres: PostgresServer;
  /** Redis primary at start. */
  readonly redisPrimary: RedisServer;
  /** Redis replica of the primary at start; promoted by the cache failover scenario. */
  readonly redisReplica: RedisServer;
  /** The Redis endpoint the instances use: a TCP proxy pointing at the current primary. */
  readonly redisEndpoint: TcpProxy;
}

/** Starts PostgreSQL, the Redis primary and replica, and the endpoint proxy; registers their teardown. */
export async function startDataTier(dir: string): Promise<DataTier> {
  // startAll: when one fails to start, the other is stopped before the error reaches the drill.
  const [postgres, redisPrimary] = await startAll([
    startPostgres({ dir: path.join(dir, 'postgres') }),
    startRedis({ dir: path.join(dir, 'redis-a') }),
  ]);
  onCleanup('stop postgres', () => postgres.stop());
  onCleanup('stop redis primary', () => redisPrimary.stop());
  const redisReplica = await startRedis({ dir: path.join(dir, 'redis-b'), replicaOf: redisPrimary });
  onCleanup('stop redis replica', () => redisReplica.stop());
  const redisEndpoint = await TcpProxy.start(redisPrimary);
  onCleanup('stop redis endpoint proxy', () => redisEndpoint.close());
  return { postgres, redisPrimary, redisReplica, redisEndpoint };
}

/** Fields of `INFO replication` as a map. */
export async function replicationInfo(redis: RedisServer): Promise<Map<string, string>> {
  const text = String(await redis.command('INFO', 'replication'));
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':');
    if (at > 0) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}

/** A certificate and key for HAProxy, and the certificate alone for clients to trust. */
export interface Certificate {
  /** PEM file with the certificate and its key, as HAProxy's `crt` wants. */
  readonly haproxyPemPath: string;
  /** The certificate (PEM), self-signed: clients pass it as their only CA. */
  readonly certPem: string;
}

/** Generates a self-signed P-256 certificate for 127.0.0.1 and localhost with openssl, valid for 2 days. */
export async function makeCertificate(dir: string): Promise<Certificate> {
  const keyPath = path.join(dir, 'tls-key.pem');
  const certPath = path.join(dir, 'tls-cert.pem');
  await promisify(execFile)(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ],
    { timeout: 15_000 },
  );
  const certPem = fs.readFileSync(certPath, 'utf8');
  const haproxyPemPath = path.join(dir, 'haproxy.pem');
  fs.writeFileSync(haproxyPemPath, certPem + fs.readFileSync(keyPath, 'utf8'), { mode: 0o600 });
  return { haproxyPemPath, certPem };
}
