// Census import page: uploads with fetch, shows the dry-run preview, commits, polls the
// job until it is finished. No inline script (CSP): configuration comes from json_script.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("import-config").textContent);
  var form = document.getElementById("import-form");
  if (!form) { return; }
  var box = document.getElementById("import-status");
  var bar = document.getElementById("import-progress");
  var message = document.getElementById("import-message");
  var counts = document.querySelector("#import-counts tbody");
  var errors = document.getElementById("import-errors");
  var warnings = document.getElementById("import-warnings");
  var commit = document.getElementById("import-commit");
  var retry = document.getElementById("import-retry");
  var current = null;
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var FINAL = ["tervalidasi", "ditolak", "selesai", "gagal"];
  var PHASES = {
    validate: "memeriksa baris / validating rows",
    stage: "menyalin ke basis data / copying into the database",
    upsert: "menyimpan / writing",
    refresh: "memperbarui indikator / refreshing indicators"
  };

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
  }

  function listed(table, items) {
    var body = table.querySelector("tbody");
    body.textContent = "";
    (items || []).forEach(function (item) {
      var row = document.createElement("tr");
      [item.sheet, item.row, item.column, item.value, item.message].forEach(function (v) { cell(row, v); });
      body.appendChild(row);
    });
    table.hidden = !(items && items.length);
  }

  function show(job) {
    current = job;
    box.hidden = false;
    bar.value = job.progress_percent || 0;
    var running = FINAL.indexOf(job.status) === -1;
    var phase = running && job.progress_phase ? " - " + (PHASES[job.progress_phase] || job.progress_phase) +
      " " + job.progress_rows + " / " + job.progress_total + " (" + job.progress_percent + "%)" : "";
    message.textContent = job.status_label + phase + (job.message ? " - " + job.message : "") +
      (job.error_count ? " (" + job.error_count + " kesalahan / errors)" : "") +
      (job.warning_count ? " (" + job.warning_count + " peringatan / warnings)" : "");
    counts.textContent = "";
    Object.keys(job.counts || {}).forEach(function (unit) {
      var row = document.createElement("tr");
      var labels = config.count_labels || {};
      cell(row, labels[unit] || unit);
      var parts = job.counts[unit];
      cell(row, Object.keys(parts).map(function (key) {
        return (labels[key] || key) + ": " + parts[key];
      }).join(", "));
      counts.appendChild(row);
    });
    listed(errors, job.errors);
    listed(warnings, job.warnings);
    commit.hidden = !(job.status === "tervalidasi" && job.dry_run);
    retry.hidden = !job.retry_url;
    if (running) {
      window.setTimeout(function () { poll(job.url); }, 1500);
    }
  }

  function failed(response) {
    return response.json().then(function (body) {
      message.textContent = (body.error && body.error.message) || ("HTTP " + response.status);
      box.hidden = false;
    });
  }

  function poll(url) {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json().then(show) : failed(response); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    data.append("dry_run", "true");
    if (!data.get("members_file") || !data.get("members_file").size) { data.delete("members_file"); }
    message.textContent = "...";
    box.hidden = false;
    fetch(config.upload_url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" }
    }).then(function (response) { return response.ok ? response.json().then(show) : failed(response); });
  });

  // A failed job (its worker died, say) runs again from the upload the server kept.
  retry.addEventListener("click", function () {
    if (!current || !current.retry_url) { return; }
    retry.hidden = true;
    fetch(current.retry_url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" }
    }).then(function (response) { return response.ok ? response.json().then(show) : failed(response); });
  });

  commit.addEventListener("click", function () {
    if (!current) { return; }
    commit.hidden = true;
    fetch(current.url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ action: "commit" })
    }).then(function (response) { return response.ok ? response.json().then(show) : failed(response); });
  });
}());
