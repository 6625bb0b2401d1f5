// One implementation, shared with the worker (which imports no core code).
export { maskUrlPasswords } from '../../templates/worker/src/secrets.js';
