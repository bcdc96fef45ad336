// Intake source form: add and remove label rows (without script, empty rows are offered and a cleared row is dropped).
document.addEventListener("DOMContentLoaded", () => {
  const rows = document.querySelector("[data-label-rows]");
  const template = document.querySelector("[data-row-template]");
  const add = document.querySelector("[data-add-row]");
  if (!rows || !template || !add) return;
  for (const button of document.querySelectorAll("[data-remove-row]")) button.hidden = false;
  add.hidden = false;
  add.addEventListener("click", () => {
    const index = Number(rows.dataset.next || 0);
    rows.dataset.next = String(index + 1);
    const html = template.innerHTML.replaceAll("__N__", String(index));
    rows.insertAdjacentHTML("beforeend", html);
    rows.lastElementChild.querySelector("input").focus();
  });
  rows.addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove-row]");
    if (!button) return;
    const row = button.closest("[data-label-row]");
    if (rows.querySelectorAll("[data-label-row]").length > 1) {
      row.remove();
    } else {
      for (const input of row.querySelectorAll("input, select")) input.value = "";
    }
  });
});
