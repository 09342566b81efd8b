// The version of mec: the "version" of the package.json above this module.
import { readFileSync } from "node:fs";

/** The package's version, from the package.json above this module (source or dist layout). */
export function packageVersion(): string {
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "mecdb" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "0.0.0";
}
