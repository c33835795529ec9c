export * from './config.js'
export * from './paths.js'
export * from './services/index.js'
export * from './testkit/index.js'
