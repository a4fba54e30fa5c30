/* RosterBridge console: live run progress, connection check results, log filter, confirms.
   Small and dependency-free; every page works without it (it only saves reloads). */
(function () {
  "use strict";

  var POLL_MS = 2000;

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  /* --- log filter (client side; the form also filters server side) ------------------- */
  function logFilter() {
    var form = document.querySelector("[data-log-filter]");
    return {
      level: form ? form.querySelector("[name=level]").value : "",
      text: form ? form.querySelector("[name=q]").value.toLowerCase() : ""
    };
  }

  function applyLogFilter() {
    var filter = logFilter();
    document.querySelectorAll("#run-log .line").forEach(function (line) {
      var ok = (!filter.level || line.dataset.level === filter.level) &&
        (!filter.text || line.textContent.toLowerCase().indexOf(filter.text) !== -1);
      line.hidden = !ok;
    });
  }

  function appendLog(entries) {
    var log = document.getElementById("run-log");
    if (!log || !entries.length) { return; }
    var empty = log.querySelector(".empty-log");
    if (empty) { empty.remove(); }
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    entries.forEach(function (entry) {
      var line = document.createElement("div");
      line.className = "line lvl-" + entry.level;
      line.dataset.level = entry.level;
      line.dataset.id = entry.id;
      var time = document.createElement("span");
      time.className = "time";
      time.textContent = entry.time;
      var level = document.createElement("span");
      level.className = "lvl";
      level.textContent = entry.level;
      line.appendChild(time);
      line.appendChild(level);
      line.appendChild(document.createTextNode(entry.message));
      log.appendChild(line);
    });
    applyLogFilter();
    if (atBottom) { log.scrollTop = log.scrollHeight; }
  }

  /* --- run page: poll progress.json while the run is active -------------------------- */
  function watchRun(root) {
    var url = root.dataset.progressUrl;
    var after = parseInt(root.dataset.lastLogId || "0", 10);
    var live = document.getElementById("run-live");
    function tick() {
      getJSON(url + "?after=" + after).then(function (data) {
        if (data.log.length) { after = data.log[data.log.length - 1].id; }
        appendLog(data.log);
        if (live && live.dataset.html !== data.html) {
          live.innerHTML = data.html;
          live.dataset.html = data.html;
        }
        root.dataset.status = data.status;
        if (data.active) { window.setTimeout(tick, POLL_MS); }
      }).catch(function () { window.setTimeout(tick, POLL_MS * 3); });
    }
    if (root.dataset.active === "true") { window.setTimeout(tick, POLL_MS); }
  }

  /* --- district page: wait for a queued connection check ----------------------------- */
  function watchCheck(panel) {
    var url = panel.dataset.checkUrl;
    function tick() {
      getJSON(url).then(function (data) {
        if (!data.pending) {
          panel.innerHTML = data.html;
          panel.dataset.pending = "false";
          return;
        }
        window.setTimeout(tick, POLL_MS);
      }).catch(function () { window.setTimeout(tick, POLL_MS * 3); });
    }
    if (panel.dataset.pending === "true") { window.setTimeout(tick, POLL_MS); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var run = document.querySelector("[data-progress-url]");
    if (run) { watchRun(run); }
    var check = document.querySelector("[data-check-url]");
    if (check) { watchCheck(check); }
    var filter = document.querySelector("[data-log-filter]");
    if (filter) {
      filter.addEventListener("input", applyLogFilter);
      filter.addEventListener("change", applyLogFilter);
    }
    var log = document.getElementById("run-log");
    if (log) { log.scrollTop = log.scrollHeight; }
    document.addEventListener("submit", function (event) {
      var message = event.target.dataset.confirm;
      if (message && !window.confirm(message)) { event.preventDefault(); }
    });
    document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
      input.addEventListener("focus", function () { input.select(); });
    });
  });
})();
