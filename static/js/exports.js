// Export jobs page: lists the caller's background exports with their progress in rows and
// percent, polls while any is still queued or running, links the finished files.
// No inline script (CSP): configuration comes from json_script.
const config = JSON.parse(document.getElementById("export-config").textContent);
const body = document.querySelector("#export-jobs tbody");
const empty = document.getElementById("export-empty");
const wanted = new URLSearchParams(window.location.search).get("job");
const ACTIVE = ["antre", "berjalan"];
const token = document.querySelector("#export-csrf input[name=csrfmiddlewaretoken]");

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) { td.appendChild(content); } else {
    td.textContent = content === null || content === undefined ? "" : String(content);
  }
  row.appendChild(td);
  return td;
}

function filters(query) {
  const parts = Object.keys(query || {}).map(function (key) { return key + "=" + query[key].join(","); });
  return parts.length ? parts.join(" & ") : "-";
}

function progress(job) {
  const box = document.createElement("span");
  const bar = document.createElement("progress");
  bar.max = 100;
  bar.value = job.progress_percent || 0;
  box.appendChild(bar);
  box.appendChild(document.createTextNode(" " + (job.progress_percent || 0) + "% (" +
    (job.progress_rows || 0).toLocaleString() + " / " + (job.progress_total || job.rows || 0).toLocaleString() +
    " baris / rows)"));
  return box;
}

function retry(job) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Coba lagi / Retry";
  button.addEventListener("click", function () {
    button.disabled = true;
    fetch(job.retry_url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", Accept: "application/json" }
    }).then(load);
  });
  return button;
}

function file(job) {
  if (job.download_url) {
    const link = document.createElement("a");
    link.href = job.download_url;
    link.textContent = "XLSX (" + Math.max(1, Math.round(job.file_size / 1024)).toLocaleString() + " KB)";
    return link;
  }
  if (job.retry_url) {
    const box = document.createElement("span");
    box.appendChild(document.createTextNode((job.error || "") + " "));
    box.appendChild(retry(job));
    return box;
  }
  return job.error || "";
}

function render(jobs) {
  body.textContent = "";
  jobs.forEach(function (job) {
    const row = document.createElement("tr");
    row.id = "export-job-" + job.id;
    row.dataset.status = job.status;
    if (String(job.id) === wanted) { row.className = "is-highlighted"; }
    cell(row, new Date(job.created).toLocaleString());
    cell(row, job.kind + "." + job.format);
    cell(row, filters(job.query));
    cell(row, job.unmasked ? "lengkap / full" : "disamarkan / masked");
    cell(row, job.status_label);
    cell(row, progress(job));
    cell(row, file(job));
    body.appendChild(row);
  });
  empty.hidden = jobs.length > 0;
  const running = jobs.some(function (job) { return ACTIVE.indexOf(job.status) !== -1; });
  if (running) { window.setTimeout(load, 2000); }
}

function load() {
  fetch(config.jobs_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json().then(render) : null; });
}

// The page shows no table to those who may not export.
if (body) { load(); }
