// The standard library, shipped as OFL source text and parsed like any file. Paths are
// `std/<module>.ofl`; the checker makes std/units and std/core visible to every program and
// other modules on `use std/<module>`.
import units from "./std/units.ofl?raw";
import core from "./std/core.ofl?raw";

export const STD_MODULES: ReadonlyArray<{ path: string; text: string }> = [
  { path: "std/units.ofl", text: units },
  { path: "std/core.ofl", text: core },
];

export const PRELUDE = ["std/units", "std/core"];
