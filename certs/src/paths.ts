import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: this file lives in certs/src (sources) or certs/dist (built). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** Default output folder; git-ignored, because it holds private keys. */
export const DEFAULT_CERTS_DIR = join(REPO_ROOT, 'certs', 'out')

/** The folder to use: an explicit `--dir`, else $PEDEPRONTO_CERTS_DIR, else certs/out/ in the repo. */
export function resolveCertsDir(dir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dir) return resolve(dir)
  if (env.PEDEPRONTO_CERTS_DIR) return resolve(env.PEDEPRONTO_CERTS_DIR)
  return DEFAULT_CERTS_DIR
}

export interface KeyPairPaths {
  cert: string
  key: string
}

export interface CertPaths {
  root: string
  caDir: string
  caCert: string
  caKey: string
  /** The `openssl ca` database: one line per issued certificate. */
  index: string
  serial: string
  crlNumber: string
  config: string
  crl: string
  /** `openssl ca` keeps a copy of every issued certificate here, named by serial. */
  newCerts: string
  serverDir: string
  devicesDir: string
  /** The CA certificate again, so that devices/ alone is what a device (or the simulator) needs. */
  devicesCa: string
  server(name: string): KeyPairPaths
  device(deviceId: string): KeyPairPaths
}

/**
 * Every file the CA writes. Names passed to server()/device() must already be validated ids: they
 * become file names.
 */
export function certPaths(dir: string): CertPaths {
  const root = resolve(dir)
  const caDir = join(root, 'ca')
  const serverDir = join(root, 'server')
  const devicesDir = join(root, 'devices')
  return {
    root,
    caDir,
    caCert: join(caDir, 'ca.pem'),
    caKey: join(caDir, 'ca.key'),
    index: join(caDir, 'index.txt'),
    serial: join(caDir, 'serial'),
    crlNumber: join(caDir, 'crlnumber'),
    config: join(caDir, 'openssl.cnf'),
    crl: join(caDir, 'crl.pem'),
    newCerts: join(caDir, 'newcerts'),
    serverDir,
    devicesDir,
    devicesCa: join(devicesDir, 'ca.pem'),
    server: (name) => ({ cert: join(serverDir, `${name}.pem`), key: join(serverDir, `${name}.key`) }),
    device: (id) => ({ cert: join(devicesDir, `${id}.pem`), key: join(devicesDir, `${id}.key`) }),
  }
}
