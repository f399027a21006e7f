// Census import page: uploads with fetch, shows the dry-run preview, commits, polls the
// job until it is finished. No inline script (CSP): configuration comes from json_script.
const config = JSON.parse(document.getElementById("import-config").textContent);
const form = document.getElementById("import-form");
// The page shows no form to those who may not import. The field tools' exports
// (ODK Central, KoboToolbox) become import jobs too: the same preview, commit and polling.
if (form) { start([form, document.getElementById("fieldwork-form")].filter(Boolean)); }

function start(forms) {
  const form = forms[0];
  const box = document.getElementById("import-status");
  const bar = document.getElementById("import-progress");
  const message = document.getElementById("import-message");
  const counts = document.querySelector("#import-counts tbody");
  const errors = document.getElementById("import-errors");
  const warnings = document.getElementById("import-warnings");
  const commit = document.getElementById("import-commit");
  const retry = document.getElementById("import-retry");
  let current = null;
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const FINAL = ["tervalidasi", "ditolak", "selesai", "gagal"];
  const PHASES = {
    validate: "memeriksa baris / validating rows",
    stage: "menyalin ke basis data / copying into the database",
    upsert: "menyimpan / writing",
    refresh: "memperbarui indikator / refreshing indicators"
  };

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
  }

  function listed(table, items) {
    const body = table.querySelector("tbody");
    body.textContent = "";
    (items || []).forEach(function (item) {
      const row = document.createElement("tr");
      [item.submission, item.sheet, item.row, item.column, item.value, item.message].forEach(function (v) { cell(row, v); });
      body.appendChild(row);
    });
    table.hidden = !(items && items.length);
  }

  function show(job) {
    current = job;
    box.hidden = false;
    bar.value = job.progress_percent || 0;
    const running = FINAL.indexOf(job.status) === -1;
    const phase = running && job.progress_phase ? " - " + (PHASES[job.progress_phase] || job.progress_phase) +
      " " + job.progress_rows + " / " + job.progress_total + " (" + job.progress_percent + "%)" : "";
    message.textContent = job.status_label + phase + (job.message ? " - " + job.message : "") +
      (job.error_count ? " (" + job.error_count + " kesalahan / errors)" : "") +
      (job.warning_count ? " (" + job.warning_count + " peringatan / warnings)" : "");
    counts.textContent = "";
    Object.keys(job.counts || {}).forEach(function (unit) {
      const row = document.createElement("tr");
      const labels = config.count_labels || {};
      cell(row, labels[unit] || unit);
      const parts = job.counts[unit];
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

  forms.forEach(function (each) {
    each.addEventListener("submit", function (event) {
      event.preventDefault();
      const data = new FormData(each);
      data.append("dry_run", "true");
      if (!data.get("members_file") || !data.get("members_file").size) { data.delete("members_file"); }
      message.textContent = "...";
      box.hidden = false;
      fetch(each.dataset.uploadUrl || config.upload_url, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" }
      }).then(function (response) { return response.ok ? response.json().then(show) : failed(response); });
    });
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
}
