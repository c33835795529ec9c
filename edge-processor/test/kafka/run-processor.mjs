// A processor as a separate process, so that a test can SIGKILL it mid-stream (run after `tsc -b`).
// argv[2]: the ProcessorConfig as JSON. Prints "ready" once both consumer groups are joined.
import { silentLogger } from '@pedepronto/common'
import { EdgeProcessor } from '../../dist/index.js'

const config = JSON.parse(process.argv[2])
const processor = new EdgeProcessor(config, { logger: silentLogger() })
await processor.start()
const ready = setInterval(() => {
  if (processor.ready) {
    clearInterval(ready)
    process.stdout.write('ready\n')
  }
}, 50)
process.once('SIGTERM', () => {
  void processor.stop().then(() => {
    process.stdout.write(`stopped ${JSON.stringify(processor.stats())}\n`)
    process.exit(0)
  })
})
