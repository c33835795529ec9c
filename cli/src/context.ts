/** What commands write to; tests capture it instead of the process streams. */
export interface CommandContext {
  out(text: string): void
  err(text: string): void
}

export const processContext: CommandContext = {
  out: (text) => {
    process.stdout.write(text)
  },
  err: (text) => {
    process.stderr.write(text)
  },
}
