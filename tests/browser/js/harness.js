// The page of the unit tests: ?worker=a.test.js,b.test.js run in a module worker (the
// pure helpers), ?page=c.page.js in this page (modules that need the DOM or the CSS).
// The results land in window.testResults and body[data-done].
import { importAndRun } from "./runner.js";

function list(name) {
  const value = new URLSearchParams(window.location.search).get(name);
  return value ? value.split(",").map((path) => new URL(path, import.meta.url).href) : [];
}

function inWorker(modules) {
  if (!modules.length) return Promise.resolve({ passed: [], failed: [] });
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => resolve({ passed: [], failed: [{ name: "worker", message: String(event.message) }] });
    worker.postMessage({ modules });
  });
}

const [worker, page] = await Promise.all([inWorker(list("worker")), importAndRun(list("page"), "page: ")]);
window.testResults = { passed: worker.passed.concat(page.passed), failed: worker.failed.concat(page.failed) };
document.body.textContent = JSON.stringify(window.testResults, null, 2);
document.body.dataset.done = "1";
