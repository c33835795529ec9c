/**
 * The tokens file's parser and check (pure), and the watched file's re-read rules on a real file.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { checkToken, hashToken, parseTokensFile, TokensFile } from '../../src/broker/tokens.js'

const hex = (token: string) => hashToken(token).toString('hex')

describe('parseTokensFile', () => {
  it('reads device id and hash per line, ignoring comments and blank lines, several tokens a device', () => {
    const table = parseTokensFile(
      [
        '# kiosks of r001',
        '',
        `kiosk-1 ${hex('alpha')}`,
        `kiosk-1   ${hex('beta').toUpperCase()}  # rotated in`,
        `pager-7\t${hex('gamma')}`,
      ].join('\n'),
    )
    expect(table.problems).toEqual([])
    expect([...table.hashes.keys()]).toEqual(['kiosk-1', 'pager-7'])
    expect(table.hashes.get('kiosk-1')).toHaveLength(2)
  })

  it('leaves out bad lines with their number and never quotes the line', () => {
    const secret = 'plain-token-in-the-file'
    const table = parseTokensFile(
      [
        `kiosk-1 ${secret}`,
        `kiosk-2 ${hex('x')} extra`,
        `Bad Id ${hex('x')}`,
        `kiosk-3 ${hex('')}`,
        `kiosk-4 ${hex('ok')}`,
      ].join('\n'),
    )
    expect([...table.hashes.keys()]).toEqual(['kiosk-4'])
    expect(table.problems.map((p) => p.line)).toEqual([1, 2, 3, 4])
    expect(JSON.stringify(table.problems)).not.toContain(secret)
    expect(table.problems[0]?.problem).toMatch(/never the token itself/)
    expect(table.problems[3]?.problem).toMatch(/empty token/)
  })
})

describe('checkToken', () => {
  const table = parseTokensFile(`kiosk-1 ${hex('alpha')}\nkiosk-1 ${hex('beta')}\n`)

  it('accepts any of the device’s tokens', () => {
    expect(checkToken(table, 'kiosk-1', Buffer.from('alpha'))).toBe('ok')
    expect(checkToken(table, 'kiosk-1', Buffer.from('beta'))).toBe('ok')
  })

  it('refuses a wrong token, another device’s token, an unknown device and the empty token', () => {
    expect(checkToken(table, 'kiosk-1', Buffer.from('alphA'))).toBe('wrong-token')
    expect(checkToken(table, 'kiosk-2', Buffer.from('alpha'))).toBe('unknown-device')
    expect(checkToken(table, 'kiosk-1', Buffer.alloc(0))).toBe('wrong-token')
  })
})

describe('TokensFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-tokens-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('re-reads on change (also two writes within one clock tick, and a save by rename) and reports a missing file', () => {
    const path = join(dir, 'tokens')
    const changes: string[] = []
    const file = new TokensFile(path, {
      onChange: (s) => changes.push(s.state === 'loaded' ? `loaded ${s.value.hashes.size}` : 'absent'),
    })
    expect(file.check('kiosk-1', Buffer.from('alpha'))).toBe('unavailable')
    writeFileSync(path, `kiosk-1 ${hex('alpha')}\n`)
    expect(file.check('kiosk-1', Buffer.from('alpha'))).toBe('ok')
    // Same size, written right after: the signature includes size, mtime and ctime; the size differs here.
    writeFileSync(path, `kiosk-1 ${hex('beta')}\nkiosk-2 ${hex('alpha')}\n`)
    expect(file.check('kiosk-1', Buffer.from('alpha'))).toBe('wrong-token')
    expect(file.check('kiosk-2', Buffer.from('alpha'))).toBe('ok')
    const next = join(dir, 'tokens.new')
    writeFileSync(next, `kiosk-1 ${hex('gamma')}\nkiosk-2 ${hex('alpha')}\n`)
    renameSync(next, path)
    expect(file.check('kiosk-1', Buffer.from('gamma'))).toBe('ok')
    rmSync(path)
    expect(file.check('kiosk-1', Buffer.from('gamma'))).toBe('unavailable')
    expect(changes).toEqual(['absent', 'loaded 1', 'loaded 2', 'loaded 2', 'absent'])
  })
})
