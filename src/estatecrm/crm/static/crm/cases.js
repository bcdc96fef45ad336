// Case pages: side-menu counts, bulk selection, confirmations, duplicate warning, postal code fill.
(() => {
  const counts = document.querySelector("[data-counts-url]");
  if (counts) {
    fetch(counts.dataset.countsUrl, { credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : {}))
      .then((data) => {
        for (const [view, count] of Object.entries(data)) {
          const badge = counts.querySelector(`[data-count-for="${view}"]`);
          if (badge) badge.textContent = count.toLocaleString();
        }
      })
      .catch(() => {});
  }

  // On a phone the filter form starts folded unless a filter is active.
  const filterBox = document.querySelector(".filter-box");
  if (filterBox && window.innerWidth < 600 && !filterBox.hasAttribute("data-keep-open")) filterBox.open = false;

  const selectAll = document.querySelector("[data-select-all]");
  if (selectAll) {
    selectAll.addEventListener("change", () => {
      for (const box of document.querySelectorAll('input[name="case_ids"]')) box.checked = selectAll.checked;
    });
  }

  const operation = document.querySelector('#bulk-form select[name="operation"]');
  const showBulkFields = () => {
    for (const label of document.querySelectorAll("[data-bulk-for]")) {
      label.hidden = !label.dataset.bulkFor.split(" ").includes(operation.value);
    }
  };
  if (operation) {
    operation.addEventListener("change", showBulkFields);
    showBulkFields();
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
  });

  const newCase = document.querySelector("[data-duplicate-url]");
  if (newCase) {
    const check = () => {
      const params = new URLSearchParams({
        phone: newCase.querySelector('[name="phone"]').value,
        email: newCase.querySelector('[name="email"]').value,
      });
      fetch(`${newCase.dataset.duplicateUrl}?${params}`, { credentials: "same-origin" })
        .then((response) => response.text())
        .then((html) => { document.getElementById("duplicate-warning").innerHTML = html; })
        .catch(() => {});
    };
    for (const name of ["phone", "email"]) {
      const input = newCase.querySelector(`[name="${name}"]`);
      input.addEventListener("change", check);
      input.addEventListener("blur", check);
    }
  }

  const postalForm = document.querySelector("[data-postal-url]");
  if (postalForm) {
    const postal = postalForm.querySelector("[data-postal-lookup]");
    postal.addEventListener("change", () => {
      fetch(`${postalForm.dataset.postalUrl}?${new URLSearchParams({ code: postal.value })}`, { credentials: "same-origin" })
        .then((response) => (response.ok ? response.json() : null))
        .then((address) => {
          if (!address) return;
          postalForm.querySelector('[name="prefecture"]').value = address.prefecture;
          postalForm.querySelector('[name="city"]').value = address.city;
          const street = postalForm.querySelector('[name="street"]');
          if (!street.value) street.value = address.town;
        })
        .catch(() => {});
    });
  }
})();
