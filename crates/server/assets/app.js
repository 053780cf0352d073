// callscope call page: clicking a sentence or a piece of evidence seeks
// the recording to its time; the sentence being played is marked.
// Reviews, appeals and decisions (call page, /appeals, /reviews) are sent
// as JSON with the page's CSRF token (X-CSRF-Token), then the page reloads.
(function () {
  "use strict";
  var audio = document.getElementById("player");
  if (!audio) {
    return;
  }
  var sentences = Array.prototype.slice.call(document.querySelectorAll(".segment[data-start]"));
  var times = sentences.map(function (sentence) {
    return [parseFloat(sentence.getAttribute("data-start")), parseFloat(sentence.getAttribute("data-end"))];
  });
  function seek(seconds) {
    if (!isFinite(seconds)) {
      return;
    }
    audio.currentTime = seconds;
    var playing = audio.play();
    if (playing && playing.catch) {
      playing.catch(function () {});
    }
  }
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-start]");
    if (!target) {
      return;
    }
    event.preventDefault();
    seek(parseFloat(target.getAttribute("data-start")));
  });
  var current = null;
  audio.addEventListener("timeupdate", function () {
    var now = audio.currentTime;
    var found = null;
    for (var index = 0; index < sentences.length; index += 1) {
      if (now >= times[index][0] && now < times[index][1]) {
        found = sentences[index];
      }
    }
    if (found === current) {
      return;
    }
    if (current) {
      current.classList.remove("playing");
    }
    if (found) {
      found.classList.add("playing");
      found.scrollIntoView({ block: "nearest" });
    }
    current = found;
  });
  // /calls/ID#t=12.5 (a search hit's link) starts at that time.
  var match = /^#t=([0-9.]+)$/.exec(window.location.hash);
  if (match) {
    audio.addEventListener("loadedmetadata", function () {
      audio.currentTime = parseFloat(match[1]);
    }, { once: true });
  }
})();

(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          throw new Error(data.error || ("HTTP " + response.status));
        }
        return data;
      });
    });
  }
  function statusOf(element) {
    var box = element.closest(".review-form, .decision-form, .appeal-form, .assign-form");
    return box ? box.querySelector(".review-status") : null;
  }
  function say(element, text, failed) {
    var status = statusOf(element);
    if (status) {
      status.textContent = text;
      status.classList.toggle("error", !!failed);
    }
  }
  function send(element, url, body) {
    element.disabled = true;
    say(element, "…", false);
    return post(url, body).then(function (data) {
      say(element, "已保存 saved", false);
      document.body.setAttribute("data-last-post", "ok");
      window.location.reload();
      return data;
    }).catch(function (error) {
      element.disabled = false;
      document.body.setAttribute("data-last-post", "error");
      say(element, error.message, true);
    });
  }
  var qa = document.getElementById("qa");
  var callId = qa ? qa.getAttribute("data-call") : null;
  function callUrl(suffix) {
    return "/api/calls/" + encodeURIComponent(callId) + suffix;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".review-confirm, .review-overturn, .appeal-accept, .appeal-reject");
    if (!button) {
      return;
    }
    event.preventDefault();
    if (button.classList.contains("review-confirm") || button.classList.contains("review-overturn")) {
      var form = button.closest(".review-form");
      var comment = form.querySelector(".review-comment");
      send(button, callUrl("/reviews"), {
        scorecard: form.getAttribute("data-scorecard"),
        rule_id: form.getAttribute("data-rule"),
        decision: button.getAttribute("data-decision"),
        comment: comment ? comment.value : ""
      });
      return;
    }
    var box = button.closest(".decision-form");
    var note = box ? box.querySelector(".decision-comment") : null;
    send(button, "/api/appeals/" + encodeURIComponent(button.getAttribute("data-appeal")) + "/decision", {
      decision: button.classList.contains("appeal-accept") ? "accept" : "reject",
      comment: note ? note.value : ""
    });
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.classList.contains("appeal-form")) {
      event.preventDefault();
      send(form.querySelector(".appeal-submit"), callUrl("/appeals"), {
        scorecard: form.getAttribute("data-scorecard"),
        rule_id: form.getAttribute("data-rule"),
        reason: form.querySelector(".appeal-reason").value
      });
    } else if (form.id === "assign-form") {
      event.preventDefault();
      send(form.querySelector("#assign-run"), "/api/reviews/assign", {
        from: form.querySelector('[name="from"]').value,
        to: form.querySelector('[name="to"]').value
      });
    }
  });
})();
