/**
 * A binary min-heap of timed entries ordered by (at, insertion order): ties run in the order they
 * were scheduled, which is what makes a discrete-event run reproducible.
 */
export interface Timed<T> {
  at: number
  order: number
  value: T
}

export class TimedHeap<T> {
  readonly #items: Timed<T>[] = []
  #order = 0

  get size(): number {
    return this.#items.length
  }

  push(at: number, value: T): Timed<T> {
    const entry = { at, order: this.#order++, value }
    const items = this.#items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
    return entry
  }

  peek(): Timed<T> | undefined {
    return this.#items[0]
  }

  pop(): Timed<T> | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < items.length && before(items[l]!, items[m]!)) m = l
      if (r < items.length && before(items[r]!, items[m]!)) m = r
      if (m === i) break
      ;[items[i], items[m]] = [items[m]!, items[i]!]
      i = m
    }
    return top
  }
}

function before<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order)
}
