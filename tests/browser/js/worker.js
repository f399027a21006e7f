// Runs the tests of the pure helpers (static/js/lib) in a module worker: there is no
// document and no window here, so a helper that touches the DOM fails.
import { importAndRun } from "./runner.js";

self.onmessage = async (event) => {
  const results = await importAndRun(event.data.modules, "worker: ");
  self.postMessage(results);
};
