export { freePort } from '../../src/local/ports';
