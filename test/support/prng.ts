export { prng } from '../../src/util/prng.js';
