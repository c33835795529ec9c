import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type PipelineFile, UploadPipeline, type UploadPipelineOptions } from '../src/pipeline.js'

interface File extends PipelineFile {
  name: string
}

/** Files of 10 offsets each: 0-9, 10-19, … */
const files = (n: number): File[] =>
  Array.from({ length: n }, (_, i) => ({
    name: `f${i}`,
    firstOffset: BigInt(i * 10),
    lastOffset: BigInt(i * 10 + 9),
  }))

interface Deferred {
  resolve(): void
  reject(error: Error): void
}

/** An upload whose every call waits until the test settles it; records calls and concurrency. */
function manualUploads() {
  const calls: { file: File; attempt: number; settle: Deferred }[] = []
  let running = 0
  let maxRunning = 0
  const upload = (file: File, attempt: number) =>
    new Promise<void>((resolve, reject) => {
      running++
      maxRunning = Math.max(maxRunning, running)
      calls.push({ file, attempt, settle: { resolve, reject } })
    }).finally(() => {
      running--
    })
  const call = (name: string, attempt = 1) => {
    const c = calls.find((x) => x.file.name === name && x.attempt === attempt)
    if (!c) throw new Error(`no upload call for ${name} attempt ${attempt}`)
    return c.settle
  }
  return { calls, upload, call, maxRunning: () => maxRunning }
}

/** Lets the pipeline's setImmediate yields and promise chains run. */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r))
}

function pipeline(over: Partial<UploadPipelineOptions<File>> & Pick<UploadPipelineOptions<File>, 'upload'>) {
  const commits: bigint[] = []
  const uploaded: string[] = []
  const p = new UploadPipeline<File>({
    maxInFlight: 3,
    retry: { attempts: 3, delayMs: () => 0 },
    sleep: async () => {},
    commit: async (offset) => {
      commits.push(offset)
    },
    uploaded: async (f) => {
      uploaded.push(f.name)
    },
    ...over,
  })
  return { p, commits, uploaded }
}

describe('UploadPipeline', () => {
  it('commits past a file only once it and every earlier file were uploaded, whatever order they finish in', async () => {
    const u = manualUploads()
    const { p, commits, uploaded } = pipeline({ upload: u.upload })
    for (const f of files(3)) p.submit(f)
    await settle()
    expect(u.calls.map((c) => c.file.name)).toEqual(['f0', 'f1', 'f2'])
    u.call('f2').resolve()
    await settle()
    u.call('f1').resolve()
    await settle()
    expect(commits).toEqual([])
    expect(p.committable).toBeUndefined()
    expect(p.outstanding).toBe(3)
    u.call('f0').resolve()
    await settle()
    expect(commits).toEqual([30n])
    expect(uploaded).toEqual(['f0', 'f1', 'f2'])
    expect(p.committed).toBe(30n)
    expect(p.outstanding).toBe(0)
  })

  it('runs at most maxInFlight uploads at once and room() waits until one is passed', async () => {
    const u = manualUploads()
    const { p, commits } = pipeline({ upload: u.upload, maxInFlight: 2 })
    for (const f of files(4)) p.submit(f)
    await settle()
    expect(u.calls.map((c) => c.file.name)).toEqual(['f0', 'f1'])
    let roomy = false
    const room = p.room().then(() => {
      roomy = true
    })
    u.call('f1').resolve()
    await settle()
    // f1's slot went to f2, but f1 is not passed (f0 is still uploading): 4 outstanding.
    expect(u.calls.map((c) => c.file.name)).toEqual(['f0', 'f1', 'f2'])
    expect(roomy).toBe(false)
    u.call('f0').resolve()
    u.call('f2').resolve()
    await settle()
    expect(u.calls.map((c) => c.file.name)).toEqual(['f0', 'f1', 'f2', 'f3'])
    await room
    expect(roomy).toBe(true)
    expect(p.outstanding).toBe(1)
    expect(commits.at(-1)).toBe(30n)
    expect(u.maxRunning()).toBe(2)
  })

  it('retries a failed upload and commits past it only after the retry succeeded', async () => {
    const u = manualUploads()
    const retries: string[] = []
    const { p, commits } = pipeline({
      upload: u.upload,
      onRetry: (f, attempt) => retries.push(`${f.name}#${attempt}`),
    })
    for (const f of files(3)) p.submit(f)
    await settle()
    u.call('f0').resolve()
    u.call('f1').reject(new Error('S3 said no'))
    u.call('f2').resolve()
    await settle()
    expect(commits).toEqual([10n])
    u.call('f1', 2).reject(new Error('S3 said no again'))
    await settle()
    expect(commits).toEqual([10n])
    u.call('f1', 3).resolve()
    await settle()
    expect(retries).toEqual(['f1#1', 'f1#2'])
    expect(commits).toEqual([10n, 30n])
  })

  it('a file that fails every attempt stops the commits for good, later uploads notwithstanding', async () => {
    const u = manualUploads()
    const { p, commits, uploaded } = pipeline({ upload: u.upload, retry: { attempts: 2, delayMs: () => 0 } })
    for (const f of files(3)) p.submit(f)
    await settle()
    u.call('f0').resolve()
    u.call('f2').resolve()
    u.call('f1').reject(new Error('first'))
    await settle()
    u.call('f1', 2).reject(new Error('bucket gone'))
    await settle()
    expect(p.failure?.error).toEqual(new Error('bucket gone'))
    expect(commits).toEqual([10n])
    expect(uploaded).toEqual(['f0'])
    expect(p.committable).toBe(10n)
    await expect(p.room()).rejects.toThrow('bucket gone')
    await expect(p.drain()).rejects.toThrow('bucket gone')
    expect(() => p.submit({ name: 'f3', firstOffset: 30n, lastOffset: 39n })).toThrow(/failed pipeline/)
  })

  it('retire: no commit and no new attempt afterwards, and it resolves only once the running upload settled', async () => {
    const u = manualUploads()
    let sleeping = 0
    const { p, commits, uploaded } = pipeline({
      upload: u.upload,
      maxInFlight: 2,
      // A retry wait that only the retirement ends.
      sleep: (_ms, cancelled) => {
        sleeping++
        return cancelled
      },
    })
    for (const f of files(3)) p.submit(f)
    await settle()
    u.call('f1').reject(new Error('transient'))
    await settle()
    expect(sleeping).toBe(1)
    let retired = false
    const done = p.retire().then(() => {
      retired = true
    })
    await settle()
    expect(retired).toBe(false) // f0 is still being written
    u.call('f0').resolve()
    await done
    expect(retired).toBe(true)
    await settle()
    expect(commits).toEqual([])
    expect(uploaded).toEqual([])
    // f1 was not tried again and f2 never started.
    expect(u.calls.map((c) => `${c.file.name}#${c.attempt}`)).toEqual(['f0#1', 'f1#1'])
    await expect(p.room()).resolves.toBeUndefined()
    expect(() => p.submit({ name: 'f3', firstOffset: 30n, lastOffset: 39n })).toThrow(/retired pipeline/)
  })

  it('a failed commit is covered by the next one, and drain() commits what is left', async () => {
    const u = manualUploads()
    const attempts: bigint[] = []
    let failNext = true
    const { p } = pipeline({
      upload: u.upload,
      commit: async (offset) => {
        attempts.push(offset)
        if (failNext) {
          failNext = false
          throw new Error('REBALANCE_IN_PROGRESS')
        }
      },
    })
    for (const f of files(2)) p.submit(f)
    await settle()
    u.call('f0').resolve()
    await settle()
    expect(attempts).toEqual([10n])
    expect(p.committed).toBeUndefined()
    u.call('f1').resolve()
    await settle()
    expect(attempts).toEqual([10n, 20n])
    expect(p.committed).toBe(20n)
    failNext = true
    p.submit({ name: 'f2', firstOffset: 20n, lastOffset: 29n })
    await settle()
    u.call('f2').resolve()
    await settle()
    expect(p.committed).toBe(20n)
    await p.drain()
    expect(attempts).toEqual([10n, 20n, 30n, 30n])
    expect(p.committed).toBe(30n)
  })

  it('refuses files out of offset order', () => {
    const { p } = pipeline({ upload: async () => {} })
    p.submit({ name: 'a', firstOffset: 10n, lastOffset: 19n })
    expect(() => p.submit({ name: 'b', firstOffset: 15n, lastOffset: 30n })).toThrow(/out of order/)
  })

  it('property: whatever the completion order and the transient failures, every commit lies behind uploaded files only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 8, maxLength: 8 }),
        fc.scheduler(),
        async (n, maxInFlight, failures, s) => {
          const list = files(n)
          const succeeded = new Set<string>()
          let running = 0
          let maxRunning = 0
          const violations: string[] = []
          const commits: bigint[] = []
          const uploaded: string[] = []
          const p = new UploadPipeline<File>({
            maxInFlight,
            retry: { attempts: 3, delayMs: () => 0 },
            sleep: async () => {},
            upload: async (file, attempt) => {
              running++
              maxRunning = Math.max(maxRunning, running)
              try {
                await s.schedule(Promise.resolve(), `${file.name}#${attempt}`)
                if (attempt <= (failures[Number(file.firstOffset) / 10] as number))
                  throw new Error('transient')
                succeeded.add(file.name)
              } finally {
                running--
              }
            },
            uploaded: async (file) => {
              uploaded.push(file.name)
            },
            commit: async (offset) => {
              for (const f of list)
                if (f.lastOffset < offset && !succeeded.has(f.name))
                  violations.push(`commit ${offset} before ${f.name} was uploaded`)
              if (commits.length > 0 && offset <= (commits.at(-1) as bigint))
                violations.push(`commit ${offset} after ${commits.at(-1)}`)
              commits.push(offset)
            },
          })
          for (const f of list) p.submit(f)
          let drained = false
          const drain = p.drain().then(() => {
            drained = true
          })
          for (let i = 0; i < 500 && !drained; i++) {
            if (s.count() > 0) await s.waitOne()
            else await new Promise((r) => setImmediate(r))
          }
          await drain
          expect(violations).toEqual([])
          expect(maxRunning).toBeLessThanOrEqual(maxInFlight)
          expect(commits.at(-1)).toBe(BigInt(n * 10))
          expect(uploaded).toEqual(list.map((f) => f.name))
        },
      ),
      { numRuns: 150 },
    )
  })
})
