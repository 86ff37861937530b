// clearsight review script: keyboard shortcuts and reveals. Same origin, no libraries,
// no inline code (the Content-Security-Policy allows only this file).
//
// Queue:  j / k move between rows, Enter opens the row.
// Item:   j / k next / previous unit; 0-5 (the scheme's keys) decide the category;
//         r reveals (held down in "hold" mode, pressed to toggle in "toggle" mode).
// Any:    u takes back the decision just recorded, while the server still offers it.
// The exposure meter counts while a picture is shown, from what the server said at the
// reveal's start, and settles on what the server recorded when the reveal ends.
// Without this script every action still works through the plain forms.
(function () {
  "use strict";

  var tokenTag = document.querySelector('meta[name="csrf-token"]');
  var csrf = tokenTag ? tokenTag.getAttribute("content") : "";

  function typing(event) {
    var target = event.target;
    if (!target || !target.tagName) return false;
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") {
      return true;
    }
    if (target.tagName === "INPUT") {
      var kind = (target.getAttribute("type") || "text").toLowerCase();
      return kind !== "radio" && kind !== "checkbox" && kind !== "submit" && kind !== "button";
    }
    return false;
  }

  function plainKey(event) {
    return !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event);
  }

  function post(url, body, keepalive) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}),
    });
  }

  function duration(seconds) {
    var whole = Math.max(0, Math.round(seconds));
    if (whole < 60) return whole + " s";
    var minutes = Math.floor(whole / 60);
    var secs = whole % 60;
    if (minutes < 60) return minutes + " min " + (secs < 10 ? "0" : "") + secs + " s";
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    return hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
  }

  function showNotice(text) {
    var notice = document.getElementById("notice");
    if (!notice) {
      notice = document.createElement("div");
      notice.id = "notice";
      notice.className = "banner notice";
      notice.setAttribute("role", "alert");
      var main = document.querySelector("main");
      main.parentNode.insertBefore(notice, main);
    }
    notice.textContent = text;
  }

  function showMeter(seconds, allowance) {
    var shown = document.getElementById("exposure-seconds");
    var gauge = document.getElementById("exposure-gauge");
    var meter = document.getElementById("exposure-meter");
    if (allowance === undefined && gauge) allowance = Number(gauge.getAttribute("max"));
    if (shown) {
      shown.textContent = duration(seconds);
      shown.setAttribute("data-seconds", String(seconds));
    }
    if (gauge) {
      gauge.setAttribute("max", String(allowance));
      gauge.setAttribute("value", String(seconds));
    }
    if (meter) meter.classList.toggle("spent", seconds >= allowance);
  }

  function meterSeconds() {
    var shown = document.getElementById("exposure-seconds");
    return shown ? Number(shown.getAttribute("data-seconds")) || 0 : 0;
  }

  // The offer to take back the last decision: counts down, and goes when the server's
  // window closes (the server refuses a late undo whatever the page shows).
  var undoBanner = document.getElementById("undo-banner");
  var undoForm = document.getElementById("undo-form");
  if (undoBanner) {
    var undoEnds = performance.now() + 1000 * Number(undoBanner.getAttribute("data-seconds-left"));
    var undoCount = document.getElementById("undo-countdown");
    var undoTimer = window.setInterval(function () {
      var left = (undoEnds - performance.now()) / 1000;
      if (left <= 0) {
        window.clearInterval(undoTimer);
        undoBanner.remove();
        undoBanner = null;
        undoForm = null;
        return;
      }
      if (undoCount) undoCount.textContent = Math.ceil(left) + " s left";
    }, 200);
  }

  function follow(id) {
    var link = document.getElementById(id);
    if (link) window.location.assign(link.getAttribute("href"));
  }

  // The queue: j / k move the current row, Enter opens it.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.unit"));
  var current = -1;

  function choose(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) rows[current].classList.remove("current");
    current = index;
    rows[current].classList.add("current");
    var link = rows[current].querySelector("a");
    if (link) link.focus();
  }

  // The item view.
  var preview = document.getElementById("preview");
  var revealForm = document.getElementById("reveal-form");
  var revealButton = document.getElementById("reveal-button");
  var decisionForm = document.getElementById("decision-form");
  var itemId = preview ? preview.getAttribute("data-item") : null;
  var mode = preview ? preview.getAttribute("data-reveal-mode") : "hold";
  var reveal = null; // the open reveal: {id, started, timer, base, ticker}
  var starting = false;
  var wanted = false; // whether the person still wants the picture shown

  function promptsShown(prompts) {
    var box = document.getElementById("prompts");
    if (!box) return;
    var hidden = document.getElementById("prompt-hidden");
    var shown = box.querySelectorAll(".prompt-text, h3");
    for (var i = 0; i < shown.length; i++) shown[i].remove();
    if (hidden) hidden.hidden = Boolean(prompts && prompts.length);
    if (!prompts || !prompts.length) return;
    var heading = document.createElement("h3");
    heading.textContent = "Generator prompt";
    box.appendChild(heading);
    prompts.forEach(function (text) {
      var paragraph = document.createElement("p");
      paragraph.className = "prompt-text";
      paragraph.textContent = text; // text, never markup
      box.appendChild(paragraph);
    });
  }

  function caption(text) {
    var shown = document.getElementById("preview-state");
    if (shown) shown.textContent = text;
  }

  function startReveal() {
    wanted = true;
    if (reveal || starting || !itemId) return;
    starting = true;
    post("/api/items/" + itemId + "/reveals")
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) {
            showNotice(body.detail || "The reveal was refused.");
            return;
          }
          reveal = opened(body.reveal_id, body.seconds_today);
          // Tell the meter how long it has lasted, now and then, while it lasts.
          reveal.timer = window.setInterval(function () {
            if (reveal) post("/api/reveals/" + reveal.id + "/end", { seconds: elapsed() });
          }, 10000);
          preview.src = body.image_url;
          preview.alt = "unblurred picture (revealed)";
          caption("Revealed: this view is recorded.");
          promptsShown(body.prompts);
          showMeter(body.seconds_today, body.allowance_s);
          if (!wanted) endReveal(false); // let go before the answer came
        });
      })
      .catch(function () {
        showNotice("The server could not be reached; nothing was revealed.");
      })
      .then(function () {
        starting = false;
      });
  }

  // An open reveal, with the meter's count before it and a ticker that moves the meter.
  function opened(id, base) {
    var open = { id: id, started: performance.now(), timer: null, base: base, ticker: null };
    open.ticker = window.setInterval(function () {
      if (reveal === open) showMeter(open.base + elapsed());
    }, 250);
    return open;
  }

  function elapsed() {
    return reveal ? (performance.now() - reveal.started) / 1000 : 0;
  }

  function endReveal(leaving) {
    wanted = false;
    if (!reveal) return;
    var ended = reveal;
    var seconds = elapsed();
    reveal = null;
    window.clearInterval(ended.timer);
    window.clearInterval(ended.ticker);
    preview.src = preview.getAttribute("data-blurred-src");
    preview.alt = "blurred preview";
    caption("Blurred.");
    promptsShown([]);
    showMeter(ended.base + seconds);
    post("/api/reveals/" + ended.id + "/end", { seconds: seconds }, leaving)
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (body) {
        // Settle on what the server recorded, unless another reveal has begun since.
        if (body && reveal === null && !starting) showMeter(ended.base + body.seconds);
      })
      .catch(function () {});
  }

  if (preview && preview.getAttribute("data-reveal-id")) {
    // Opened through the plain form: the reveal began before this page, and the meter
    // the server drew already counts it from its start. Count from that start too.
    var age = Number(preview.getAttribute("data-reveal-age")) || 0;
    reveal = opened(preview.getAttribute("data-reveal-id"), meterSeconds() - age);
    reveal.started -= age * 1000;
  }

  if (revealForm && revealButton) {
    revealForm.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    if (mode === "hold") {
      revealButton.addEventListener("pointerdown", function (event) {
        event.preventDefault();
        startReveal();
      });
      ["pointerup", "pointerleave", "pointercancel"].forEach(function (name) {
        revealButton.addEventListener(name, function () {
          endReveal(false);
        });
      });
    } else {
      revealButton.addEventListener("click", function () {
        if (reveal || starting) endReveal(false);
        else startReveal();
      });
    }
  }

  window.addEventListener("pagehide", function () {
    endReveal(true);
  });

  document.addEventListener("keydown", function (event) {
    if (!plainKey(event)) return;
    var key = event.key;
    if (key === "u" && undoForm) {
      event.preventDefault();
      endReveal(false);
      undoForm.requestSubmit();
      return;
    }
    if (rows.length) {
      if (key === "j") choose(current + 1);
      else if (key === "k") choose(current - 1);
      else if (key === "Enter" && current >= 0) {
        window.location.assign(rows[current].getAttribute("data-href"));
      } else return;
      event.preventDefault();
      return;
    }
    if (!preview) return;
    if (key === "j") follow("next-unit");
    else if (key === "k") follow("previous-unit");
    else if (key === "r" && revealButton) {
      if (event.repeat) return;
      if (mode === "hold") startReveal();
      else if (reveal || starting) endReveal(false);
      else startReveal();
    } else if (decisionForm) {
      var choice = decisionForm.querySelector('input[name="category"][data-key="' + CSS.escape(key) + '"]');
      if (!choice) return;
      choice.checked = true;
      endReveal(false);
      decisionForm.requestSubmit();
    } else return;
    event.preventDefault();
  });

  document.addEventListener("keyup", function (event) {
    if (event.key === "r" && mode === "hold" && revealButton && !typing(event)) endReveal(false);
  });
})();
