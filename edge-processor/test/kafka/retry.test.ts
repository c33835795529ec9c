/**
 * The transaction coordinator's "not now" answers are retried in place (the transaction stays open);
 * every other error, and a coordinator still busy after the budget, fails the transaction.
 */
import { describe, expect, it } from 'vitest'
import { retryCoordinatorBusy } from '../../src/kafka/stage.js'

function protocolError(type: string): Error {
  return Object.assign(new Error(type), { type, name: 'KafkaJSProtocolError' })
}

describe('retryCoordinatorBusy', () => {
  it('retries CONCURRENT_TRANSACTIONS and the coordinator-moving errors until the call succeeds', async () => {
    const answers = [
      protocolError('CONCURRENT_TRANSACTIONS'),
      protocolError('GROUP_LOAD_IN_PROGRESS'),
      protocolError('NOT_COORDINATOR_FOR_GROUP'),
      protocolError('CONCURRENT_TRANSACTIONS'),
    ]
    let calls = 0
    const retried: number[] = []
    const value = await retryCoordinatorBusy(
      async () => {
        calls++
        const next = answers.shift()
        if (next) throw next
        return 'sent'
      },
      (_error, attempt) => retried.push(attempt),
    )
    expect(value).toBe('sent')
    expect(calls).toBe(5)
    expect(retried).toEqual([1, 2, 3, 4])
  })

  it('throws any other error at once', async () => {
    let calls = 0
    const fenced = protocolError('INVALID_PRODUCER_EPOCH')
    await expect(
      retryCoordinatorBusy(async () => {
        calls++
        throw fenced
      }),
    ).rejects.toBe(fenced)
    expect(calls).toBe(1)
    await expect(retryCoordinatorBusy(async () => Promise.reject(new Error('plain')))).rejects.toThrow(
      'plain',
    )
  })

  it('gives up when the coordinator is still busy after the budget', async () => {
    let calls = 0
    await expect(
      retryCoordinatorBusy(
        async () => {
          calls++
          throw protocolError('CONCURRENT_TRANSACTIONS')
        },
        undefined,
        150,
      ),
    ).rejects.toMatchObject({ type: 'CONCURRENT_TRANSACTIONS' })
    // 20, 40, 80 ms waits fit in 150 ms; the call after the deadline throws.
    expect(calls).toBeGreaterThanOrEqual(3)
    expect(calls).toBeLessThanOrEqual(6)
  })
})
