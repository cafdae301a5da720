export { controllerCheck } from './controller-check';
