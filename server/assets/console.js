// Fieldproof console: small progressive enhancements only; every page works without script.
// Served from the site itself so the Content-Security-Policy can forbid inline script.
"use strict";

// Buttons marked data-confirm ask before their form is sent.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const question = button && button.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// An export in progress refreshes its progress until it is ready.
function watchExport(row) {
  const url = row.dataset.poll;
  const timer = window.setInterval(async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const state = await response.json();
      const bar = row.querySelector("progress");
      if (bar) bar.value = state.progress;
      const status = row.querySelector(".status");
      if (status) status.textContent = state.status_words;
      if (state.status === "done" || state.status === "failed") {
        window.clearInterval(timer);
        window.location.reload();
      }
    } catch (_) {
      // The next tick tries again; a flaky network only delays the update.
    }
  }, 1500);
}
document.querySelectorAll("[data-poll]").forEach(watchExport);

// The light counts over all of the user's tasks arrive after the list itself.
document.querySelectorAll("[data-counts]").forEach(async (box) => {
  try {
    const response = await fetch(box.dataset.counts, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const counts = await response.json();
    box.querySelectorAll("[data-light-count]").forEach((slot) => {
      slot.textContent = String(counts[slot.dataset.lightCount] ?? "");
    });
  } catch (_) {
    // Without the counts the list still works; the badges stay empty.
  }
});
