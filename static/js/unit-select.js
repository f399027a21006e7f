// The household form's dusun, RW and RT selects, enhanced: the RW list offers only the
// RWs of the chosen dusun (and those directly under the village), the RT list only the
// RTs of the chosen RW or dusun. The server groups the options by their parent's path
// (optgroup labels, "Lingkungan I / 001"); without this script every option stays
// choosable and the server names a pair that does not belong together.

function pathOf(form, names) {
  return names
    .map((name) => form.elements.namedItem(name))
    .map((select) => (select ? select.value : ""));
}

function allowedGroups(form, select) {
  const [dusun, rw] = pathOf(form, ["dusun", "rw"]);
  const allowed = [select.dataset.topLabel];
  if (select.dataset.unitSelect === "rw") {
    if (dusun) allowed.push(dusun);
  } else {
    if (dusun) allowed.push(dusun);
    if (dusun && rw) allowed.push(dusun + " / " + rw);
    if (!dusun && rw) allowed.push(rw);
  }
  return allowed;
}

function filter(form, select) {
  const allowed = allowedGroups(form, select);
  const value = select.value;
  select.querySelectorAll("optgroup").forEach((group) => {
    const shown = allowed.includes(group.label);
    group.hidden = !shown;
    group.disabled = !shown;
    Array.from(group.children).forEach((option) => { option.disabled = !shown; });
  });
  const checked = select.selectedOptions[0];
  if (!checked || !checked.disabled) return;
  // The same name may sit under several parents: keep it where the parent fits.
  const fitting = Array.from(select.options).find((option) => option.value === value && !option.disabled);
  if (fitting) {
    fitting.selected = true;
  } else {
    select.value = "";
    select.dispatchEvent(new Event("change"));
  }
}

function start(form) {
  const rw = form.querySelector("select[data-unit-select='rw']");
  const rt = form.querySelector("select[data-unit-select='rt']");
  const dusun = form.querySelector("select[data-unit-select='dusun']");
  if (!rw && !rt) return;
  const refresh = () => {
    if (rw) filter(form, rw);
    if (rt) filter(form, rt);
  };
  if (dusun) dusun.addEventListener("change", refresh);
  if (rw) rw.addEventListener("change", () => rt && filter(form, rt));
  refresh();
}

const form = document.getElementById("household-form");
if (form) start(form);
