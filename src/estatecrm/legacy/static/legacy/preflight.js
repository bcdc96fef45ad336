// Page ① while the uploaded bundle is checked in the background: poll the status endpoint, show the
// stage and keep the elapsed time running, then reload once the check has ended (ready or failed).
(() => {
  const card = document.querySelector("[data-testid=preflight-progress][data-status-url]");
  if (!card) return;
  const stage = card.querySelector("[data-stage]");
  const elapsed = card.querySelector("[data-elapsed]");
  let seconds = Number(elapsed?.dataset.seconds || 0);
  const show = () => {
    if (!elapsed) return;
    const minutes = Math.floor(seconds / 60);
    elapsed.textContent = `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
  };
  window.setInterval(() => {
    seconds += 1;
    show();
  }, 1000);
  const poll = async () => {
    try {
      const response = await fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {Accept: "application/json"}});
      if (response.status === 404) {
        // The upload was removed or replaced (another tab): show the page as it is now.
        window.location.reload();
        return;
      }
      if (response.ok) {
        const state = await response.json();
        if (state.is_finished) {
          window.location.reload();
          return;
        }
        if (stage && state.stage_label) {
          stage.textContent = state.stage_label;
          stage.dataset.stage = state.stage;
        }
        if (typeof state.elapsed_seconds === "number") {
          seconds = state.elapsed_seconds;
          show();
        }
      }
    } catch (error) {
      // A network hiccup: try again at the next tick.
    }
    window.setTimeout(poll, 2000);
  };
  window.setTimeout(poll, 1500);
})();
