/**
 * A Redis that speaks TLS only, with a certificate from a CA made for the test: what a
 * managed Redis with a private CA looks like. The CA and the server certificate are made
 * by openssl at test time in a temp dir (EC P-256 keys: a few ms, where RSA takes seconds).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startRedis, stopRedis, type RedisServer } from './redis-servers';

const run = promisify(execFile);

export interface TlsFiles {
  dir: string;
  /** PEM files */
  ca: string;
  cert: string;
  key: string;
}

/** A CA, and a server certificate it signed for 127.0.0.1, ::1 and localhost. */
export async function makeCertificates(): Promise<TlsFiles> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'limiters-tls-'));
  const file = (name: string) => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir, timeout: 20_000 });
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=nestjs-limiters test CA',
  );
  await openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  // Node checks the address it dialled against the subjectAltName, not the CN.
  fs.writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n');
  // prettier-ignore
  await openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '1', '-extfile', 'san.cnf');
  return { dir, ca: file('ca.crt'), cert: file('server.crt'), key: file('server.key') };
}

/** Starts redis-server with no plain port: `url` is rediss://, and clients must trust `files.ca`. */
export async function startTlsRedis(files: TlsFiles): Promise<RedisServer> {
  const server = await startRedis({
    // prettier-ignore
    args: (port) => [
      '--port', '0', '--tls-port', String(port),
      '--tls-cert-file', files.cert, '--tls-key-file', files.key, '--tls-ca-cert-file', files.ca,
      '--tls-auth-clients', 'no', // server authentication only, as managed Redis services do
    ],
    cli: ['--tls', '--cacert', files.ca],
  });
  return { ...server, url: `rediss://${server.host}:${server.port}` };
}

/** Call inside a describe: certificates and a TLS-only Redis in beforeAll, both gone in afterAll. */
export function useTlsRedis(): { server(): RedisServer; files(): TlsFiles } {
  let files: TlsFiles | undefined;
  let server: RedisServer | undefined;
  beforeAll(async () => {
    files = await makeCertificates();
    server = await startTlsRedis(files);
  });
  afterAll(async () => {
    if (server) await stopRedis(server);
    if (files) fs.rmSync(files.dir, { recursive: true, force: true });
  });
  return { server: () => server!, files: () => files! };
}
