// Grade sync: while a sync of the course runs, follow it (/lti/sync/status/ every second) and
// reload the page, with its fresh assignment states, once it is done.
(function () {
  var box = document.getElementById("progress");
  if (!box.dataset.active) { return; }
  document.getElementById("sync-now").disabled = true;
  function poll() {
    fetch(box.dataset.url, {credentials: "omit", cache: "no-store"}).then(function (r) { return r.json(); }).then(function (p) {
      if (p.done) { window.location.replace(box.dataset.page); return; }
      box.textContent = "Sync #" + p.run_id + ": " + p.status_label + " · " + p.course_status + " · " + p.pushed + " sent";
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 700);
})();
