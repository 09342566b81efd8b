// Worker-thread entry: registers tsx (workers do not inherit the parent's loader hooks), then
// loads the TypeScript worker body.
import { register } from "tsx/esm/api";
register();
await import("./worker-main.ts");
