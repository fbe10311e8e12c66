// The standard library, shipped as OFL source text and parsed like any file. Paths are
// `std/<module>.ofl`; the checker makes std/units and std/core visible to every program and
// other modules on `use std/<module>`.
import units from "./std/units.ofl?raw";
import core from "./std/core.ofl?raw";
import mtconnect from "./std/mtconnect.ofl?raw";
import oee from "./std/oee.ofl?raw";

export const STD_MODULES: ReadonlyArray<{ path: string; text: string }> = [
  { path: "std/units.ofl", text: units },
  { path: "std/core.ofl", text: core },
  { path: "std/mtconnect.ofl", text: mtconnect },
  { path: "std/oee.ofl", text: oee },
];

export const PRELUDE = ["std/units", "std/core"];
