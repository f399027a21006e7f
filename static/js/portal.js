// Behaviour shared by every page (a module: it runs once the document is parsed).
// No inline handlers: the Content-Security-Policy forbids them.
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => {
    // Dashboards keep their view in the query string (history.pushState): switching
    // the language returns to the view as it is now, not as the page was loaded.
    const next = select.form.querySelector("input[name=next]");
    if (next) next.value = window.location.pathname + window.location.search;
    select.form.submit();
  });
});
