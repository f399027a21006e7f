// Behaviour shared by every page. No inline handlers: the Content-Security-Policy forbids them.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      // Dashboards keep their view in the query string (history.pushState): switching
      // the language returns to the view as it is now, not as the page was loaded.
      var next = select.form.querySelector("input[name=next]");
      if (next) next.value = window.location.pathname + window.location.search;
      select.form.submit();
    });
  });
});
