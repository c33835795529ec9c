export { type GeneratedEvents, generateEvents, idChecksum } from '../../src/fixtures.js'
