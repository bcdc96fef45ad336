// The run page follows a migration (and then its revert) until it has ended: poll the status endpoint,
// update the progress, then reload once so the final counts, the downloads and the revert form show.
(() => {
  const card = document.querySelector("[data-testid=run][data-status-url]");
  if (!card) return;
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  if (card.dataset.finished === "1") return;
  const progress = card.querySelector("progress");
  const text = card.querySelector("[data-progress-text]");
  const status = card.querySelector("[data-testid=run-status]");
  // Rows done / total; before the total is known, the words the page was rendered with (waiting, checking).
  const progressText = (item, element) => {
    if (item.rows_total !== null && item.rows_total !== undefined) return `${item.rows_done} / ${item.rows_total}`;
    return item.status === "pending" ? element.dataset.labelPending : element.dataset.labelCounting;
  };
  const poll = async () => {
    try {
      const response = await fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (response.ok) {
        const run = await response.json();
        if (run.is_finished && !run.is_reverting) {
          window.location.reload();
          return;
        }
        const revert = run.revert;
        const revertProgress = document.querySelector("[data-revert-progress]");
        if (revert && revertProgress && revert.rows_total) {
          revertProgress.max = revert.rows_total;
          revertProgress.value = revert.rows_done;
        }
        const revertText = document.querySelector("[data-revert-progress-text]");
        if (revert && revertText) revertText.textContent = progressText(revert, revertText);
        const revertStatus = document.querySelector("[data-revert-status]");
        if (revert && revertStatus) revertStatus.textContent = revert.status_label;
        if (progress && run.rows_total) {
          progress.max = run.rows_total;
          progress.value = run.rows_done;
        }
        if (text) text.textContent = progressText(run, text);
        if (status) status.textContent = run.status_label;
        for (const [key, value] of Object.entries(run)) {
          const cell = card.querySelector(`[data-count="${key}"]`);
          if (cell && typeof value === "number") {
            const target = cell.querySelector("a") || cell;
            target.textContent = value;
          }
        }
      }
    } catch (error) {
      // A network hiccup: try again at the next tick.
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 1500);
})();
