// Worker entry: registers tsx's TypeScript loader in this thread (loader hooks are not inherited
// from the parent thread), then runs worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
