// Submit forms whose select carries data-autosubmit as soon as the choice changes (language switch).
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
    target.form.requestSubmit();
  }
});

// Buttons that need a script start hidden: dismissing a message, going back to the previous page (when there is one).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-dismiss]")) button.hidden = false;
  if (window.history.length > 1) {
    for (const button of document.querySelectorAll("[data-history-back]")) button.hidden = false;
  }
});
document.addEventListener("click", (event) => {
  if (!(event.target instanceof Element)) return;
  if (event.target.closest("[data-history-back]")) window.history.back();
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) dismiss.closest("li").remove();
});
