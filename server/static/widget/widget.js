/*
 * 12349 养老服务助手 — embeddable chat widget (plain JS, no build step, no CDN).
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *   optional: data-open="true" (start opened), data-title="…"
 *
 * Talks to POST {origin of this script}/api/chat. Every text is put into the page with
 * textContent, never as HTML. The conversation (sender id + messages) and the text-size
 * choice are kept in sessionStorage (a reload continues; a new tab or browser session does
 * not), and the conversation id is the one the server issued.
 */
(function () {
  "use strict";
  if (window.__elder12349Widget) { return; }
  window.__elder12349Widget = true;

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  })();
  var BASE = new URL(script.src, window.location.href).origin;
  var TITLE = (script.dataset && script.dataset.title) || "12349 养老服务助手";
  var START_OPEN = script.dataset && script.dataset.open === "true";
  var STORE_KEY = "elder12349.widget.v1";
  var MAX_KEPT = 200;
  var OFFLINE_TEXT = "网络好像断了，消息没有发出去。请稍后再试，或者直接拨打12349找人工顾问。";

  // ---- state kept across reloads -------------------------------------------------
  function loadState() {
    try {
      // sessionStorage: the conversation ends with the browser tab, so the next person at a
      // shared computer does not continue it; the server issues the conversation id.
      var raw = window.sessionStorage.getItem(STORE_KEY);
      var data = raw ? JSON.parse(raw) : null;
      if (data && (typeof data.sender === "string" || data.sender === null) &&
          Array.isArray(data.messages)) {
        return data;
      }
    } catch (e) { /* storage blocked or corrupt: start afresh */ }
    return { sender: null, messages: [], large: false, open: START_OPEN };
  }

  var state = loadState();

  function saveState() {
    state.messages = state.messages.slice(-MAX_KEPT);
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* ignore */ }
  }

  // ---- small DOM helpers (text only: no innerHTML anywhere) ----------------------
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function button(className, label, onClick) {
    var b = el("button", className, label);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  // Service numbers in a reply (12349, 120, 12356 …) become tap-to-call links on a phone.
  var CALLABLE = /(?<![0-9])(12349|12356|12348|12333|12393|120|110|119)(?![0-9])/g;

  function appendWithCallLinks(parent, text) {
    var last = 0;
    String(text).replace(CALLABLE, function (number, _n, at) {
      if (at > last) { parent.appendChild(document.createTextNode(text.slice(last, at))); }
      var link = el("a", "ew-tel", number);
      link.href = "tel:" + number;
      parent.appendChild(link);
      last = at + number.length;
      return number;
    });
    if (last < text.length) { parent.appendChild(document.createTextNode(text.slice(last))); }
  }

  function clock(ts) {
    var d = new Date(ts);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function dayLabel(ts) {
    var d = new Date(ts);
    var today = new Date();
    if (d.toDateString() === today.toDateString()) { return clock(ts); }
    return (d.getMonth() + 1) + "月" + d.getDate() + "日 " + clock(ts);
  }

  // ---- styles ---------------------------------------------------------------------
  var css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = BASE + "/static/widget/widget.css";
  document.head.appendChild(css);

  // ---- layout ---------------------------------------------------------------------
  var root = el("div", "ew-root");
  root.id = "elder12349-widget";
  root.setAttribute("lang", "zh-CN");

  var launcher = button("ew-launcher", "在线咨询 · 12349", function () { setOpen(true); });
  launcher.setAttribute("aria-label", "打开" + TITLE);

  var panel = el("section", "ew-panel");
  panel.setAttribute("aria-label", TITLE);

  var header = el("header", "ew-header");
  var title = el("h2", "ew-title", TITLE);
  var bigText = button("ew-big", "", function () { setLarge(!state.large); });
  var closeBtn = button("ew-close", "收起", function () { setOpen(false); });
  closeBtn.setAttribute("aria-label", "收起聊天窗口");
  header.appendChild(title);
  header.appendChild(bigText);
  header.appendChild(closeBtn);

  var log = el("div", "ew-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-label", "聊天记录");

  var typing = el("div", "ew-msg ew-from-bot ew-typing");
  typing.appendChild(el("div", "ew-avatar ew-avatar-bot", "助"));
  var typingBubble = el("div", "ew-bubble");
  typingBubble.setAttribute("aria-label", "对方正在输入");
  typingBubble.appendChild(el("span", "ew-dot"));
  typingBubble.appendChild(el("span", "ew-dot"));
  typingBubble.appendChild(el("span", "ew-dot"));
  typing.appendChild(typingBubble);
  typing.appendChild(el("span", "ew-typing-text", "正在输入…"));
  typing.hidden = true;

  var footer = el("form", "ew-footer");
  footer.setAttribute("autocomplete", "off");
  var human = button("ew-human", "转人工", function () { send("转人工", null); });
  human.setAttribute("aria-label", "转人工，找真人顾问");
  var input = el("input", "ew-input");
  input.type = "text";
  input.maxLength = 500;
  input.placeholder = "请输入您的问题";
  input.setAttribute("aria-label", "输入消息");
  input.setAttribute("enterkeyhint", "send");
  var sendBtn = el("button", "ew-send", "发送");
  sendBtn.type = "submit";
  footer.appendChild(human);
  footer.appendChild(input);
  footer.appendChild(sendBtn);
  footer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { input.focus(); return; }
    input.value = "";
    send(text, null);
  });

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(footer);
  root.appendChild(launcher);
  root.appendChild(panel);

  // ---- read aloud (browser speech synthesis, Mandarin) ---------------------------
  var canSpeak = "speechSynthesis" in window && "SpeechSynthesisUtterance" in window;

  function speak(text, btn) {
    if (!canSpeak) { return; }
    var synth = window.speechSynthesis;
    if (synth.speaking && btn.classList.contains("ew-speaking")) {
      synth.cancel();
      return;
    }
    synth.cancel();
    var utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    utterance.rate = 0.85;  // a little slower than usual for older listeners
    var voices = synth.getVoices ? synth.getVoices() : [];
    for (var i = 0; i < voices.length; i++) {
      if (/^zh(-|_)CN/i.test(voices[i].lang)) { utterance.voice = voices[i]; break; }
    }
    btn.classList.add("ew-speaking");
    btn.textContent = "停止朗读";
    utterance.onend = utterance.onerror = function () {
      btn.classList.remove("ew-speaking");
      btn.textContent = "朗读";
    };
    synth.speak(utterance);
  }

  // ---- messages ---------------------------------------------------------------------
  function renderMessage(msg, index) {
    var fromUser = msg.from === "user";
    var row = el("div", "ew-msg " + (fromUser ? "ew-from-user" : "ew-from-bot"));
    row.dataset.index = String(index);
    var avatar = el("div", "ew-avatar " + (fromUser ? "ew-avatar-user" : "ew-avatar-bot"),
                    fromUser ? "我" : "助");
    avatar.setAttribute("aria-hidden", "true");
    var body = el("div", "ew-body");
    var who = el("span", "ew-sr-only", fromUser ? "我说：" : "助手说：");
    var bubble = el("div", "ew-bubble");
    bubble.appendChild(who);
    if (fromUser) {
      bubble.appendChild(document.createTextNode(msg.text));
    } else {
      appendWithCallLinks(bubble, msg.text);
    }
    body.appendChild(bubble);

    var meta = el("div", "ew-meta");
    var time = el("time", "ew-time", dayLabel(msg.ts));
    time.dateTime = new Date(msg.ts).toISOString();
    meta.appendChild(time);
    if (!fromUser && canSpeak) {
      var speakBtn = button("ew-speak", "朗读", function () { speak(msg.text, speakBtn); });
      speakBtn.setAttribute("aria-label", "朗读这条回复");
      meta.appendChild(speakBtn);
    }
    body.appendChild(meta);

    if (!fromUser && msg.buttons && msg.buttons.length) {
      var quick = el("div", "ew-quick");
      quick.setAttribute("role", "group");
      quick.setAttribute("aria-label", "快捷回复");
      msg.buttons.forEach(function (b) {
        var q = button("ew-quick-btn", b.title, function () { send(b.title, b.payload); });
        quick.appendChild(q);
      });
      body.appendChild(quick);
    }
    row.appendChild(avatar);
    row.appendChild(body);
    return row;
  }

  function renderAll() {
    while (log.firstChild) { log.removeChild(log.firstChild); }
    state.messages.forEach(function (m, i) { log.appendChild(renderMessage(m, i)); });
    log.appendChild(typing);
    markOldQuickReplies();
    scrollDown();
  }

  function addMessage(msg) {
    state.messages.push(msg);
    saveState();
    log.insertBefore(renderMessage(msg, state.messages.length - 1), typing);
    markOldQuickReplies();
    scrollDown();
  }

  // Only the newest bot message's quick replies stay active (like WeChat menus).
  function markOldQuickReplies() {
    var groups = log.querySelectorAll(".ew-quick");
    for (var i = 0; i < groups.length; i++) {
      var stale = i < groups.length - 1 || !isLastBotGroup(groups[i]);
      groups[i].classList.toggle("ew-stale", stale);
      var btns = groups[i].querySelectorAll("button");
      for (var j = 0; j < btns.length; j++) { btns[j].disabled = stale; }
    }
  }

  function isLastBotGroup(group) {
    var row = group.closest(".ew-msg");
    var next = row && row.nextElementSibling;
    while (next && next !== typing) {
      if (next.classList.contains("ew-from-user")) { return false; }
      next = next.nextElementSibling;
    }
    return true;
  }

  function scrollDown() {
    window.requestAnimationFrame(function () { log.scrollTop = log.scrollHeight; });
  }

  // ---- talking to the server ----------------------------------------------------------
  var pending = Promise.resolve();
  var waiting = 0;

  function setWaiting(delta) {
    waiting += delta;
    typing.hidden = waiting <= 0;
    if (!typing.hidden) { scrollDown(); }
  }

  /* Shows `shown` as the user's bubble (none when null) and sends `payload || shown`. */
  function send(shown, payload) {
    if (shown !== null) {
      addMessage({ from: "user", text: shown, ts: Date.now() });
    }
    var message = payload || shown;
    setWaiting(1);
    pending = pending.then(function () {
      return fetch(BASE + "/api/chat", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ sender: state.sender, message: message })
      }).then(function (response) {
        return response.json().catch(function () { return {}; });
      }).then(function (data) {
        if (data && typeof data.sender === "string" && data.sender) {
          state.sender = data.sender;  // the id the server issued; sent back from now on
          saveState();
        }
        var replies = (data && Array.isArray(data.replies)) ? data.replies : [];
        if (!replies.length && data && data.error) { replies = [{ text: data.error }]; }
        replies.forEach(function (r) {
          if (!r || typeof r.text !== "string" || !r.text) { return; }
          var buttons = Array.isArray(r.buttons) ? r.buttons.filter(function (b) {
            return b && typeof b.title === "string" && typeof b.payload === "string";
          }).map(function (b) { return { title: b.title, payload: b.payload }; }) : [];
          addMessage({ from: "bot", text: r.text, buttons: buttons, ts: Date.now() });
        });
      }).catch(function () {
        addMessage({ from: "bot", text: OFFLINE_TEXT, buttons: [], ts: Date.now() });
      }).then(function () { setWaiting(-1); });
    });
    return pending;
  }

  // ---- switches -------------------------------------------------------------------------
  function setLarge(large) {
    state.large = !!large;
    saveState();
    root.classList.toggle("ew-large", state.large);
    bigText.textContent = state.large ? "标准字" : "大字";
    bigText.setAttribute("aria-pressed", state.large ? "true" : "false");
    bigText.setAttribute("aria-label", state.large ? "字体改回标准大小" : "把字再放大");
    scrollDown();
  }

  function setOpen(open) {
    state.open = !!open;
    saveState();
    root.classList.toggle("ew-open", state.open);
    launcher.hidden = state.open;
    panel.hidden = !state.open;
    if (state.open) {
      if (!state.messages.length && waiting === 0) { send(null, "/greet"); }
      scrollDown();
    }
  }

  function mount() {
    document.body.appendChild(root);
    renderAll();
    setLarge(state.large);
    setOpen(state.open || START_OPEN);
  }

  window.Elder12349Widget = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    send: function (text) { return send(String(text), null); },
    reset: function () {
      state = { sender: null, messages: [], large: state.large, open: state.open };
      saveState();
      renderAll();
    }
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
