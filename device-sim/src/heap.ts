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
    // Sift up by moving parents into the hole (no swaps): the heap runs once per simulated action.
    let i = items.length
    items.push(entry)
    while (i > 0) {
      const parent = (i - 1) >> 1
      const p = items[parent]!
      if (!before(entry, p)) break
      items[i] = p
      i = parent
    }
    items[i] = entry
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
    const n = items.length
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const m = r < n && before(items[r]!, items[l]!) ? r : l
      const child = items[m]!
      if (!before(child, last)) break
      items[i] = child
      i = m
    }
    items[i] = last
    return top
  }
}

function before<T>(a: Timed<T>, b: Timed<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.order < b.order)
}
