// The operator's household form, enhanced: a question is shown only while it is asked
// (the questionnaire's skip rules, which the server reads from the model's constraints
// and hands over as data-asked-when / data-asked-codes). Without this script every
// question is shown and the server refuses an answer that should have been skipped.

function wrapperOf(control) {
  return control.closest(".hf-field");
}

function applyRule(control, question) {
  const codes = control.dataset.askedCodes.split(" ");
  const asked = codes.includes(question.value);
  const wrapper = wrapperOf(control);
  if (wrapper) wrapper.hidden = !asked;
  // A skipped question is not sent: the answer is cleared on save, kept on screen
  // should the operator change their mind.
  control.disabled = !asked;
}

function start(form) {
  form.querySelectorAll("[data-asked-when]").forEach((control) => {
    const question = form.elements.namedItem(control.dataset.askedWhen);
    if (!question || !(question instanceof HTMLSelectElement)) return;
    applyRule(control, question);
    question.addEventListener("change", () => applyRule(control, question));
  });
}

// Every operator form (household, member, life events) shares the mechanism.
document.querySelectorAll("form.hf-form").forEach(start);
