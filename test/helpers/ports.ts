export { freePort } from '../../src/controller/ports';
