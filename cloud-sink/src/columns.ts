/**
 * The column accumulator: one file's rows kept column by column — typed arrays for numbers, one
 * array per text column, a validity bitmap each — instead of one object per row (issue #6: the
 * ~25-key row object per event and the per-column walks over them were a fifth of the sink's time in
 * garbage collection). The table definitions (tables.ts) write a record's cells into it by column
 * index through `RowWriter`; parquet.ts turns it into Arrow data without another pass over objects.
 *
 * A row is written between `beginRow()` and `commitRow()`; a row abandoned half-way (a record that
 * turned out not to fit the table) is simply not committed and leaves nothing behind. Cells a row
 * does not set are null.
 */
import type { CellValue, ColumnDef, ColumnType, Row, RowWriter } from './tables.js'

const INITIAL_CAPACITY = 1_024

type Store = Float64Array | (string | null)[]

export class ColumnBatch implements RowWriter {
  readonly columns: readonly ColumnDef[]
  readonly #types: readonly ColumnType[]
  #length = 0
  #capacity: number
  /** Per column: Float64Array (int64, timestamp_ms, double) or an array of strings. */
  readonly #stores: Store[]
  readonly #validity: Uint8Array[]
  readonly #nulls: Int32Array
  /** Per column: the row (by #rowId) that last set it, so that commitRow() can null the others. */
  readonly #setIn: Int32Array
  /** Counts beginRow() calls: an abandoned row's cells must not count as set in the next one. */
  #rowId = 0

  constructor(columns: readonly ColumnDef[], capacity = INITIAL_CAPACITY) {
    this.columns = columns
    this.#types = columns.map((c) => c.type)
    // A whole number of validity bytes.
    this.#capacity = Math.max(8, Math.ceil(capacity / 8) * 8)
    this.#stores = this.#types.map((t) => (t === 'string' ? [] : new Float64Array(this.#capacity)))
    this.#validity = columns.map(() => new Uint8Array(this.#capacity >> 3))
    this.#nulls = new Int32Array(columns.length)
    this.#setIn = new Int32Array(columns.length).fill(-1)
  }

  /** Committed rows. */
  get length(): number {
    return this.#length
  }

  /** Starts a row (discarding an uncommitted one). */
  beginRow(): void {
    if (this.#length === this.#capacity) this.#grow()
    this.#rowId++
  }

  /**
   * Sets a cell of the row being written. Values are taken as the column type says (tables.ts
   * validated them): numbers for int64/timestamp_ms/double, strings for text.
   */
  set(column: number, value: CellValue): void {
    const n = this.#length
    this.#setIn[column] = this.#rowId
    const store = this.#stores[column] as Store
    const bits = this.#validity[column] as Uint8Array
    if (value === null) {
      bits[n >> 3] = (bits[n >> 3] as number) & ~(1 << (n & 7))
      if (this.#types[column] === 'string') (store as (string | null)[])[n] = null
      else (store as Float64Array)[n] = 0
      return
    }
    bits[n >> 3] = (bits[n >> 3] as number) | (1 << (n & 7))
    if (this.#types[column] === 'string')
      (store as (string | null)[])[n] = typeof value === 'string' ? value : String(value)
    else (store as Float64Array)[n] = value as number
  }

  /** Ends the row: cells not set are null. */
  commitRow(): void {
    const n = this.#length
    for (let c = 0; c < this.#types.length; c++) {
      if (this.#setIn[c] !== this.#rowId) this.set(c, null)
      const bits = this.#validity[c] as Uint8Array
      if (((bits[n >> 3] as number) & (1 << (n & 7))) === 0) this.#nulls[c] = (this.#nulls[c] as number) + 1
    }
    this.#length = n + 1
  }

  /**
   * Moves the row being written in `from` (same column list) here, as a committed row; `from` keeps
   * it uncommitted, i.e. discards it. For the record whose event time closes the file it was written
   * into (assembler.ts).
   */
  takeRow(from: ColumnBatch): void {
    if (from.columns !== this.columns) throw new TypeError('takeRow between batches of different tables')
    const n = from.#length
    this.beginRow()
    for (let c = 0; c < this.#types.length; c++) {
      if (from.#setIn[c] !== from.#rowId) continue
      const bits = from.#validity[c] as Uint8Array
      const valid = ((bits[n >> 3] as number) & (1 << (n & 7))) !== 0
      this.set(c, valid ? ((from.#stores[c] as Store)[n] as string | number) : null)
    }
    this.commitRow()
  }

  /** Appends a row given as an object (column name → value; missing names are null). */
  pushRow(row: Readonly<Record<string, CellValue | undefined>>): void {
    this.beginRow()
    for (let c = 0; c < this.columns.length; c++)
      this.set(c, row[(this.columns[c] as ColumnDef).name] ?? null)
    this.commitRow()
  }

  /** Nulls in column `c` among the committed rows. */
  nullCount(c: number): number {
    return this.#nulls[c] as number
  }

  /** Validity bitmap of column `c` (LSB first, Arrow "Validity bitmaps"), sized for the committed rows. */
  validity(c: number): Uint8Array {
    return (this.#validity[c] as Uint8Array).subarray(0, Math.ceil(this.#length / 8))
  }

  /** The numbers of a numeric column (nulls read 0), one per committed row. */
  numbers(c: number): Float64Array {
    const store = this.#stores[c]
    if (!(store instanceof Float64Array))
      throw new TypeError(`column ${this.columns[c]?.name} is not numeric`)
    return store.subarray(0, this.#length)
  }

  /** The values of a text column (nulls are null), one per committed row. */
  strings(c: number): readonly (string | null)[] {
    const store = this.#stores[c]
    if (store instanceof Float64Array) throw new TypeError(`column ${this.columns[c]?.name} is not text`)
    if (store.length > this.#length) store.length = this.#length
    return store
  }

  /** Row `i` as an object, for the few consumers that want rows (IoT pushes, tests). */
  row(i: number): Row {
    const out: Row = {}
    this.columns.forEach((col, c) => {
      const bits = this.#validity[c] as Uint8Array
      const valid = ((bits[i >> 3] as number) & (1 << (i & 7))) !== 0
      const store = this.#stores[c] as Store
      out[col.name] = valid ? (store[i] as string | number) : null
    })
    return out
  }

  toRows(): Row[] {
    return Array.from({ length: this.#length }, (_, i) => this.row(i))
  }

  #grow(): void {
    const capacity = this.#capacity * 2
    this.#stores.forEach((store, c) => {
      if (store instanceof Float64Array) {
        const next = new Float64Array(capacity)
        next.set(store)
        this.#stores[c] = next
      }
    })
    this.#validity.forEach((bits, c) => {
      const next = new Uint8Array(capacity >> 3)
      next.set(bits)
      this.#validity[c] = next
    })
    this.#capacity = capacity
  }
}
