import {
  type CertificateEntry,
  DEFAULT_SERVER_NAME,
  DEFAULT_SERVER_SANS,
  initCa,
  issueDevice,
  issueServer,
  listCertificates,
  REVOCATION_REASONS,
  type RevocationReason,
  refreshCrl,
  resolveCertsDir,
  revokeDevice,
} from '@pedepronto/certs'
import { type Command, Option } from 'commander'
import type { CommandContext } from '../context.js'

interface DirOptions {
  dir?: string
}

function day(date: Date | undefined): string {
  return date ? date.toISOString().slice(0, 10) : '?'
}

function listLine(e: CertificateEntry): string {
  const who = e.kind === 'device' ? `${e.name} (restaurant ${e.restaurantId ?? '?'})` : e.name
  const revoked =
    e.status === 'revoked'
      ? ` revoked ${day(e.revokedAt)}${e.revocationReason ? ` (${e.revocationReason})` : ''}`
      : ''
  return `${e.kind.padEnd(7)} ${e.serial.padEnd(8)} ${e.status.padEnd(8)} expires ${day(e.expiresAt)}  ${who}${revoked}\n`
}

/**
 * `pedepronto certs …`: the local CA for the gateway's MQTT-over-TLS profile. Output names the files
 * written; key material is never printed.
 */
export function addCertsCommand(program: Command, ctx: CommandContext): void {
  const certs = program
    .command('certs')
    .description(
      'local certificate authority: gateway server certificate, per-device client certificates, CRL',
    )
  const withDir = (cmd: Command) =>
    cmd.option(
      '--dir <dir>',
      'output folder (default $PEDEPRONTO_CERTS_DIR, else certs/out/ in the repository)',
    )

  withDir(certs.command('init'))
    .description('create the CA (ca/ca.pem, ca/ca.key, openssl database, empty CRL); keeps an existing one')
    .option('--force', 'replace an existing CA; the certificates it issued are deleted')
    .action(async (options: DirOptions & { force?: boolean }) => {
      const r = await initCa(resolveCertsDir(options.dir), { force: options.force === true })
      const p = r.paths
      if (r.action === 'kept') {
        ctx.out(`CA exists in ${p.caDir}, kept (pass --force to replace it and everything it issued)\n`)
        return
      }
      ctx.out(
        `CA ${r.action} in ${p.caDir}: ca.pem (until ${day(r.expiresAt)}), ca.key (mode 0600), crl.pem\n`,
      )
      ctx.out(`devices trust ${p.devicesCa}\n`)
    })

  withDir(certs.command('issue-server'))
    .description("issue the gateway's TLS server certificate server/<name>.pem (+ .key)")
    .option('--name <name>', 'server name, used as CN and file name', DEFAULT_SERVER_NAME)
    .option(
      '--san <entries...>',
      'subjectAltName entries, DNS:<host>, IP:<address> or URI:<uri>, comma- or space-separated',
      [...DEFAULT_SERVER_SANS],
    )
    .action(async (options: DirOptions & { name: string; san: string[] }) => {
      const r = await issueServer(resolveCertsDir(options.dir), options.name, options.san)
      ctx.out(`server certificate ${r.cert} (serial ${r.serial}, until ${day(r.expiresAt)})\n`)
      ctx.out(`key ${r.key} (mode 0600); SAN ${r.sans.join(',')}; CA ${r.ca}\n`)
      if (r.superseded.length > 0) ctx.out(`revoked as superseded: ${r.superseded.join(', ')}\n`)
    })

  withDir(certs.command('issue-device'))
    .description('issue a device client certificate devices/<device_id>.pem (+ .key) for MQTT over TLS')
    .requiredOption('--device-id <id>', 'device id (CN and file name)')
    .requiredOption('--restaurant <id>', 'restaurant id (OU)')
    .option('--force', 're-issue when the device has a certificate; the old one is revoked')
    .action(async (options: DirOptions & { deviceId: string; restaurant: string; force?: boolean }) => {
      const r = await issueDevice(resolveCertsDir(options.dir), options.deviceId, options.restaurant, {
        force: options.force === true,
      })
      ctx.out(`device certificate ${r.cert} (serial ${r.serial}, until ${day(r.expiresAt)})\n`)
      ctx.out(`key ${r.key} (mode 0600); identity ${r.sans.join(',')}; CA ${r.ca}\n`)
      if (r.superseded.length > 0) ctx.out(`revoked as superseded: ${r.superseded.join(', ')}\n`)
    })

  withDir(certs.command('revoke'))
    .description("revoke a device's certificates and regenerate ca/crl.pem")
    .requiredOption('--device-id <id>', 'device id')
    .addOption(new Option('--reason <reason>', 'CRL reason code').choices([...REVOCATION_REASONS]))
    .action(async (options: DirOptions & { deviceId: string; reason?: RevocationReason }) => {
      const r = await revokeDevice(resolveCertsDir(options.dir), options.deviceId, options.reason)
      const what =
        r.revoked.length > 0
          ? `revoked ${r.deviceId}: serial ${r.revoked.join(', ')}`
          : `${r.deviceId} was already revoked (serial ${r.alreadyRevoked.join(', ')})`
      ctx.out(`${what}\nCRL ${r.crl} (next update ${day(r.crlNextUpdate)}); reload it in the gateway\n`)
    })

  withDir(certs.command('crl'))
    .description('re-sign ca/crl.pem with a fresh next-update date (do it well within its 30 days)')
    .action(async (options: DirOptions) => {
      const r = await refreshCrl(resolveCertsDir(options.dir))
      ctx.out(`CRL ${r.crl} (next update ${day(r.nextUpdate)})\n`)
    })

  withDir(certs.command('list'))
    .description('list the certificates the CA issued: kind, serial, status, expiry')
    .option('--json', 'print machine-readable JSON')
    .action(async (options: DirOptions & { json?: boolean }) => {
      const entries = await listCertificates(resolveCertsDir(options.dir))
      if (options.json) {
        ctx.out(`${JSON.stringify(entries)}\n`)
        return
      }
      if (entries.length === 0) ctx.out('no certificates issued yet\n')
      for (const e of entries) ctx.out(listLine(e))
    })
}
