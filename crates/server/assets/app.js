// callscope call page: clicking a sentence or a piece of evidence seeks
// the recording to its time; the sentence being played is marked.
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
