// Every random generator in the tests is seeded: fast-check runs (fc.assert, fc.sample) use this
// seed unless a test passes its own, so a failure reproduces on the next run. To explore other
// inputs, set OFL_TEST_SEED (fast-check prints the seed and path of any counterexample).
import fc from "fast-check";

export const TEST_SEED = Number(process.env.OFL_TEST_SEED ?? 20261203);
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: TEST_SEED });
