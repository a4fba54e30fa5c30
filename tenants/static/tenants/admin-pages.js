// Admin pages of RosterBridge: no inline handlers, so the Content-Security-Policy allows no
// inline script. A one-time link's field selects itself when clicked, ready to copy.
document.addEventListener("DOMContentLoaded", () => {
  for (const field of document.querySelectorAll("[data-select-on-focus]")) {
    field.addEventListener("click", () => field.select());
  }
});
