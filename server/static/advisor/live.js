/* Console pages that refresh part of themselves (the queue's rows, a conversation's
   transcript): every `data-refresh-seconds` the element's `data-refresh-url` fragment
   replaces its content. Skipped while the advisor is typing or choosing inside it; the page
   itself never reloads or jumps. The title gets 【紧急】 while the fragment says urgent. */
(function () {
  "use strict";
  var URGENT = "【紧急】";

  function busy(box) {
    var active = document.activeElement;
    return active && box.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
  }

  function refresh(box) {
    if (busy(box) || document.hidden) {
      return;
    }
    fetch(box.getAttribute("data-refresh-url"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || response.redirected) {
          throw new Error("refresh failed: " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        if (busy(box)) {
          return;
        }
        box.innerHTML = html;
        var flag = box.querySelector("[data-urgent]");
        if (flag) {
          var title = document.title.replace(URGENT, "");
          document.title = (flag.getAttribute("data-urgent") === "1" ? URGENT : "") + title;
        }
        box.querySelectorAll("[data-scroll-end]").forEach(function (list) {
          list.scrollTop = list.scrollHeight;
        });
      })
      .catch(function () { /* the next round tries again */ });
  }

  document.querySelectorAll("[data-refresh-url]").forEach(function (box) {
    var seconds = parseInt(box.getAttribute("data-refresh-seconds"), 10) || 15;
    box.querySelectorAll("[data-scroll-end]").forEach(function (list) {
      list.scrollTop = list.scrollHeight;
    });
    window.setInterval(function () { refresh(box); }, seconds * 1000);
  });
})();
