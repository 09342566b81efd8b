// Types of seedrandom's alea generator, imported on its own path (seedrandom's index also
// loads its ambient-entropy seeder, which the core must not reach). Only what random.ts uses.
declare module "seedrandom/lib/alea.js" {
  interface AleaState {
    c: number;
    s0: number;
    s1: number;
    s2: number;
  }
  interface AleaPrng {
    (): number;
    int32(): number;
    state(): AleaState;
  }
  function alea(seed: string, options: { state: true | AleaState }): AleaPrng;
  export = alea;
}
