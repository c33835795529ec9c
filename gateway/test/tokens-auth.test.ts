/**
 * User name / token authentication in the local profile (gateway.tokensFile set): the right device
 * and token connect and publish; a missing, wrong or borrowed token is refused with the CONNACK
 * return code MQTT 3.1.1 §3.2.2.3 gives it; the file is re-read without a restart; no token reaches
 * the log; a tokens file with a bad line stops the start with the line number.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeEvent, KAFKA_TOPICS, topicName } from '@pedepronto/contracts'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { hashToken } from '../src/broker/tokens.js'
import { type CapturedLog, captureLog, startTestGateway, type TestGateway } from './support/gateway.js'
import { readRecords } from './support/kafka.js'
import { connectClient, refusal } from './support/mqtt.js'
import { ratedEvent } from './support-events.js'

const brokers = inject('kafkaBrokers')
const line = (device: string, token: string) => `${device} ${hashToken(token).toString('hex')}\n`

describe('gateway token authentication (local profile)', () => {
  let gw: TestGateway
  let log: CapturedLog
  let tokensFile: string
  let url: string

  beforeAll(async () => {
    log = captureLog()
    gw = await startTestGateway(
      brokers,
      'gwtok',
      (dir) => {
        tokensFile = join(dir, 'tokens')
        writeFileSync(
          tokensFile,
          `# test fleet\n${line('kiosk-1', 'tok-kiosk-1')}${line('kiosk-2', 'tok-kiosk-2')}`,
        )
        return { 'gateway.tokensFile': tokensFile }
      },
      { logger: log.logger },
    )
    url = gw.addresses.mqtt as string
  })

  afterAll(async () => {
    await gw?.stop()
  })

  it('takes events from a device that gives its id and token', async () => {
    const client = await connectClient(url, {
      clientId: 'kiosk-1',
      username: 'kiosk-1',
      password: 'tok-kiosk-1',
    })
    await client.publishAsync(
      'pp/v1/r001/kiosk-1/evt/order.rated',
      Buffer.from(encodeEvent(ratedEvent({ device: 'kiosk-1', order: 'o-tok-1' }))),
      { qos: 1 },
    )
    await client.endAsync()
    const records = await readRecords(brokers, [topicName(KAFKA_TOPICS.orders.name, gw.prefix)])
    expect(records.filter((r) => r.key === 'o-tok-1')).toHaveLength(1)
  })

  it('refuses no credentials (5), a wrong token (4), another device’s token (4), a user name that is not the client id (4)', async () => {
    expect((await refusal(url, { clientId: 'kiosk-1' })).code).toBe(5)
    expect((await refusal(url, { clientId: 'kiosk-1', username: 'kiosk-1', password: 'nope' })).code).toBe(4)
    expect(
      (await refusal(url, { clientId: 'kiosk-1', username: 'kiosk-1', password: 'tok-kiosk-2' })).code,
    ).toBe(4)
    expect(
      (await refusal(url, { clientId: 'kiosk-1', username: 'kiosk-2', password: 'tok-kiosk-2' })).code,
    ).toBe(4)
    expect(
      (await refusal(url, { clientId: 'kiosk-9', username: 'kiosk-9', password: 'tok-kiosk-1' })).code,
    ).toBe(4)
    const refusals = log.find('connection refused')
    expect(refusals.length).toBeGreaterThanOrEqual(5)
    expect(refusals.map((r) => r.returnCode)).toContain(4)
    // Neither the tokens nor their hashes are ever logged.
    const all = log.lines.join('')
    for (const secret of ['tok-kiosk-1', 'tok-kiosk-2', 'nope', hashToken('tok-kiosk-1').toString('hex')])
      expect(all).not.toContain(secret)
  })

  it('re-reads the file: a new device logs in and a removed token stops working, no restart', async () => {
    writeFileSync(tokensFile, `${line('kiosk-2', 'tok-kiosk-2')}${line('kiosk-3', 'tok-kiosk-3')}`)
    const three = await connectClient(url, {
      clientId: 'kiosk-3',
      username: 'kiosk-3',
      password: 'tok-kiosk-3',
    })
    expect(three.connected).toBe(true)
    await three.endAsync()
    expect(
      (await refusal(url, { clientId: 'kiosk-1', username: 'kiosk-1', password: 'tok-kiosk-1' })).code,
    ).toBe(4)
    const two = await connectClient(url, {
      clientId: 'kiosk-2',
      username: 'kiosk-2',
      password: 'tok-kiosk-2',
    })
    expect(two.connected).toBe(true)
    await two.endAsync()
  })
})

describe('gateway tokens file problems', () => {
  it('refuses to start with a bad line, naming its number but not its content', async () => {
    const error = await startTestGateway(brokers, 'gwtokbad', (dir) => {
      const path = join(dir, 'tokens')
      writeFileSync(path, `${line('kiosk-1', 'a')}kiosk-2 my-plain-token\n`)
      return { 'gateway.tokensFile': path }
    }).then(
      async (gw) => {
        await gw.stop()
        return undefined
      },
      (e: Error & { code?: string }) => e,
    )
    expect(error?.code).toBe('GW_TOKENS_FILE')
    expect(error?.message).toMatch(/line 2:/)
    expect(error?.message).not.toContain('my-plain-token')
  })
})
