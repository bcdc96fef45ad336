// The move-in page follows a running phase: poll the status endpoint, update the progress and the counts,
// then reload once so the final counts, the report links and the verdict form show.
(() => {
  const box = document.querySelector("[data-testid=phases][data-status-url]");
  if (!box || box.dataset.finished === "1") return;
  // The same grouping as the page's own numbers (18,000): the page's language.
  const number = (value) => Number(value).toLocaleString(document.documentElement.lang || undefined);
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (response.ok) {
        const state = await response.json();
        if (state.is_finished) {
          window.location.reload();
          return;
        }
        for (const [phase, summary] of Object.entries(state.phases)) {
          if (!summary) continue;
          const progress = box.querySelector(`[data-progress="${phase}"]`);
          if (progress && summary.rows_total) {
            progress.max = summary.rows_total;
            progress.value = summary.rows_done;
          }
          const text = document.querySelector(`[data-phase-progress="${phase}"]`);
          if (text && summary.rows_total !== null) text.textContent = `${number(summary.rows_done)} / ${number(summary.rows_total)}`;
          const status = document.querySelector(`[data-phase-status="${phase}"]`);
          if (status) status.textContent = summary.status_label;
          for (const [entity, counts] of Object.entries(summary.entities)) {
            for (const key of ["loaded", "skipped", "failed"]) {
              const cell = box.querySelector(`[data-count="${phase}:${entity}:${key}"]`);
              if (cell) cell.textContent = number(counts[key]);
            }
          }
          const revert = summary.revert;
          if (revert) {
            const bar = box.querySelector(`[data-revert-progress="${phase}"]`);
            if (bar && revert.rows_total) {
              bar.max = revert.rows_total;
              bar.value = revert.rows_done;
            }
            const done = box.querySelector(`[data-revert-progress-text="${phase}"]`);
            if (done && revert.rows_total !== null) done.textContent = `${number(revert.rows_done)} / ${number(revert.rows_total)}`;
            const badge = box.querySelector(`[data-revert-status="${phase}"]`);
            if (badge) badge.textContent = revert.status_label;
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
