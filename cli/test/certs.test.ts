/**
 * `pedepronto certs …` through commander, as the CLI wires it. Lives here (not cli/test) because
 * the certs issue owns the command file; it needs no other workspace.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { addCertsCommand } from '../src/commands/certs.js'

async function tempCertsDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `pedepronto-certs-${label}-`))
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) }
}

let dir: string
let cleanup: () => Promise<void>

beforeAll(async () => {
  ;({ dir, cleanup } = await tempCertsDir('cli'))
})
afterAll(async () => {
  await cleanup()
})

async function run(
  ...args: string[]
): Promise<{ out: string; error?: { code?: string; exitCode?: number } }> {
  let out = ''
  const program = new Command('pedepronto').exitOverride()
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) })
  addCertsCommand(program, { out: (s) => (out += s), err: (s) => (out += s) })
  for (const c of program.commands) c.exitOverride()
  try {
    await program.parseAsync(['certs', ...args], { from: 'user' })
    return { out }
  } catch (error) {
    return { out, error: error as { code?: string; exitCode?: number } }
  }
}

describe('pedepronto certs', { timeout: 15_000 }, () => {
  it('init, issue-server, issue-device, revoke and list say where files went and print no key', async () => {
    const init = await run('init', '--dir', dir)
    expect(init.out).toContain(`CA created in ${dir}/ca: ca.pem`)
    expect((await run('init', '--dir', dir)).out).toContain('kept (pass --force')
    const server = await run('issue-server', '--dir', dir, '--san', 'DNS:localhost', 'IP:127.0.0.1')
    expect(server.out).toContain(`server certificate ${dir}/server/gateway.pem (serial 1000`)
    expect(server.out).toContain('SAN DNS:localhost,IP:127.0.0.1')
    const device = await run('issue-device', '--dir', dir, '--device-id', 'kiosk-1', '--restaurant', 'rest-1')
    expect(device.out).toContain(`device certificate ${dir}/devices/kiosk-1.pem (serial 1001`)
    expect(device.out).toContain('identity URI:urn:pedepronto:device:rest-1:kiosk-1')
    const revoke = await run('revoke', '--dir', dir, '--device-id', 'kiosk-1')
    expect(revoke.out).toContain('revoked kiosk-1: serial 1001')
    expect(revoke.out).toContain(`CRL ${dir}/ca/crl.pem`)
    const list = await run('list', '--dir', dir)
    expect(list.out.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^server {2}1000 {5}valid {4}expires \d{4}-\d\d-\d\d {2}gateway$/),
      expect.stringMatching(
        /^device {2}1001 {5}revoked {2}expires \S+ {2}kiosk-1 \(restaurant rest-1\) revoked \S+$/,
      ),
    ])
    for (const r of [init, server, device, revoke, list]) expect(r.out).not.toMatch(/PRIVATE KEY/)
  })

  it('turns a bad id into a CERTS_BAD_ID error with exit code 64', async () => {
    const r = await run('issue-device', '--dir', dir, '--device-id', 'Bad Id', '--restaurant', 'rest-1')
    expect(r.error).toMatchObject({ code: 'CERTS_BAD_ID', exitCode: 64 })
  })

  it('has --help on every subcommand', async () => {
    for (const sub of ['init', 'issue-server', 'issue-device', 'revoke', 'list', 'crl']) {
      const r = await run(sub, '--help')
      expect(r.out).toContain('--dir <dir>')
      expect(r.error).toMatchObject({ exitCode: 0 })
    }
  })
})
