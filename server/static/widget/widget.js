/*
 * 12349 养老服务助手 — embeddable chat widget (plain JS, no build step, no CDN).
 *
 *   <script src="https://HOST/widget.js" defer></script>
 *   optional: data-open="true" (start opened), data-title="…"
 *
 * Talks to POST {origin of this script}/api/chat and, while an advisor is joining or holds the
 * conversation, polls GET /api/chat/updates. Every text is put into the page with textContent,
 * never as HTML. The conversation (sender id + messages) is kept in sessionStorage (a reload
 * continues; a new tab or browser session does not); the person's display choices (text size,
 * read-aloud) in localStorage (they belong to the device, not to one conversation).
 *
 * Made for older people (适老化, MIIT guidance): large text with two bigger modes, large
 * buttons, high contrast, few controls, read-aloud and voice input where the browser has them.
 * The accessible name of every control is its visible text.
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
  var PREFS_KEY = "elder12349.widget.prefs.v1";
  var MAX_KEPT = 200;
  var POLL_MS = 3000;
  var LIVE_IDLE_MS = 30 * 60 * 1000;  // stop asking for advisor messages after 30 quiet minutes
  var OFFLINE_TEXT = "网络好像断了，消息没有发出去。请稍后再试，或者直接拨打12349找人工顾问。";
  var TEXT = {
    placeholder: "请输入您的问题",
    send: "发送",
    human: "转人工",
    close: "收起",
    launcher: "在线咨询 · 12349",
    readAloud: "自动朗读",
    noChineseVoice: "这台设备不能朗读中文。",
    holdToTalk: "按住说话",
    listening: "请说话，说完松开",
    noSpeechHeard: "没有听清，请按住按钮再说一遍。",
    micBlocked: "请允许网页使用麦克风，或者打字。",
    voiceInputUnavailable: "这台设备现在不能语音输入，请打字。",
    checkAndSend: "请看一下文字对不对，再点发送。",
    sentToAdvisor: "已发给顾问",
    advisor: "顾问",
    typing: "正在输入…",
    me: "我说：",
    assistant: "助手说："
  };
  // Text sizes: standard, 大字 (×1.25), 特大字 (×1.6); the factor is applied in widget.css.
  var SIZES = [{ key: "large", label: "大字" }, { key: "xlarge", label: "特大字" }];

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
    return { sender: null, messages: [], open: START_OPEN, live: null };
  }

  function loadPrefs() {
    try {
      var data = JSON.parse(window.localStorage.getItem(PREFS_KEY) || "null");
      if (data && typeof data === "object") {
        return { size: (data.size === "large" || data.size === "xlarge") ? data.size : "standard",
                 readAloud: data.readAloud === true };
      }
    } catch (e) { /* storage blocked or corrupt: defaults */ }
    return { size: "standard", readAloud: false };
  }

  var state = loadState();
  var prefs = loadPrefs();

  function saveState() {
    state.messages = state.messages.slice(-MAX_KEPT);
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(state)); } catch (e) { /* ignore */ }
  }

  function savePrefs() {
    try { window.localStorage.setItem(PREFS_KEY, JSON.stringify(prefs)); } catch (e) { /* ignore */ }
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
    if (onClick) { b.addEventListener("click", onClick); }
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

  function cleanButtons(list) {
    return Array.isArray(list) ? list.filter(function (b) {
      return b && typeof b.title === "string" && b.title && typeof b.payload === "string";
    }).map(function (b) { return { title: b.title, payload: b.payload }; }) : [];
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

  var launcher = button("ew-launcher", TEXT.launcher, function () { setOpen(true, true); });

  var panel = el("section", "ew-panel");
  var header = el("header", "ew-header");
  var title = el("h2", "ew-title", TITLE);
  title.id = "elder12349-widget-title";
  panel.setAttribute("aria-labelledby", title.id);
  var closeBtn = button("ew-close", TEXT.close, function () { setOpen(false, true); });
  var titleRow = el("div", "ew-title-row");
  titleRow.appendChild(title);
  titleRow.appendChild(closeBtn);

  // The display switches: 大字 / 特大字 (pressing the pressed one goes back to standard)
  // and 自动朗读 (new replies are read out as they arrive).
  var tools = el("div", "ew-tools");
  var sizeButtons = SIZES.map(function (size) {
    var b = button("ew-size ew-size-" + size.key, size.label, function () {
      setSize(prefs.size === size.key ? "standard" : size.key);
    });
    b.dataset.size = size.key;
    tools.appendChild(b);
    return b;
  });
  var readAloudBtn = button("ew-read-aloud", TEXT.readAloud, function () {
    setReadAloud(!prefs.readAloud, true);
  });
  readAloudBtn.setAttribute("role", "switch");
  tools.appendChild(readAloudBtn);
  // What the switches have to say (no Chinese voice, microphone blocked …), read out politely.
  var notice = el("p", "ew-notice");
  notice.setAttribute("role", "status");
  header.appendChild(titleRow);
  header.appendChild(tools);
  header.appendChild(notice);

  var log = el("div", "ew-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.tabIndex = 0;  // keyboard users scroll the history with the arrow keys

  var typing = el("div", "ew-msg ew-from-bot ew-typing");
  var typingAvatar = el("div", "ew-avatar ew-avatar-bot", "助");
  typingAvatar.setAttribute("aria-hidden", "true");
  typing.appendChild(typingAvatar);
  var typingBubble = el("div", "ew-bubble");
  typingBubble.setAttribute("aria-hidden", "true");
  typingBubble.appendChild(el("span", "ew-dot"));
  typingBubble.appendChild(el("span", "ew-dot"));
  typingBubble.appendChild(el("span", "ew-dot"));
  typing.appendChild(typingBubble);
  typing.appendChild(el("span", "ew-typing-text", TEXT.typing));
  typing.hidden = true;

  var footer = el("form", "ew-footer");
  footer.setAttribute("autocomplete", "off");
  var input = el("input", "ew-input");
  input.type = "text";
  input.maxLength = 500;
  input.placeholder = TEXT.placeholder;
  input.setAttribute("aria-label", TEXT.placeholder);  // the same words the box shows
  input.setAttribute("enterkeyhint", "send");
  var sendBtn = el("button", "ew-send", TEXT.send);
  sendBtn.type = "submit";
  var talkBtn = button("ew-talk", TEXT.holdToTalk);
  talkBtn.hidden = true;
  var human = button("ew-human", TEXT.human, function () {
    input.focus();
    send(TEXT.human, null);
  });
  var sendRow = el("div", "ew-send-row");
  sendRow.appendChild(input);
  sendRow.appendChild(sendBtn);
  var moreRow = el("div", "ew-more-row");
  moreRow.appendChild(talkBtn);
  moreRow.appendChild(human);
  footer.appendChild(sendRow);
  footer.appendChild(moreRow);
  footer.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    input.focus();
    if (!text) { return; }
    input.value = "";
    send(text, null);
  });

  panel.appendChild(header);
  panel.appendChild(log);
  panel.appendChild(footer);
  root.appendChild(launcher);
  root.appendChild(panel);

  // Kept in the page while empty, so screen readers hear what is put in it.
  function say(text) {
    notice.textContent = text || "";
  }

  // ---- read aloud (browser speech synthesis, Mandarin) ---------------------------
  var synth = ("speechSynthesis" in window && "SpeechSynthesisUtterance" in window)
    ? window.speechSynthesis : null;

  function chineseVoice() {
    var voices = (synth && synth.getVoices) ? synth.getVoices() : [];
    for (var i = 0; i < voices.length; i++) {
      if (/^(zh|cmn)([-_]|$)/i.test(voices[i].lang || "")) { return voices[i]; }
    }
    return null;
  }

  // Browsers list their voices a moment after the page loads: wait for them briefly.
  function whenVoicesKnown(done) {
    if (!synth) { done(null); return; }
    var voice = chineseVoice();
    if (voice || !synth.addEventListener) { done(voice); return; }
    var finished = false;
    function finish() {
      if (finished) { return; }
      finished = true;
      synth.removeEventListener("voiceschanged", finish);
      done(chineseVoice());
    }
    synth.addEventListener("voiceschanged", finish);
    window.setTimeout(finish, 1500);
  }

  function speak(text) {
    var voice = synth && chineseVoice();
    if (!voice || !text) { return; }
    var utterance = new window.SpeechSynthesisUtterance(text);
    utterance.lang = "zh-CN";
    utterance.voice = voice;
    utterance.rate = 0.85;  // a little slower than usual for older listeners
    synth.speak(utterance);  // queued after what is being read, so replies come in order
  }

  function stopSpeaking() {
    if (synth && (synth.speaking || synth.pending)) { synth.cancel(); }
  }

  function setReadAloud(on, byPerson) {
    if (!on) {
      prefs.readAloud = false;
      stopSpeaking();
      showReadAloud();
      savePrefs();
      if (byPerson) { say(""); }
      return;
    }
    whenVoicesKnown(function (voice) {
      if (!voice) {
        // Said plainly instead of a switch that seems on and stays silent.
        prefs.readAloud = false;
        showReadAloud();
        savePrefs();
        say(TEXT.noChineseVoice);
        return;
      }
      prefs.readAloud = true;
      showReadAloud();
      savePrefs();
      if (byPerson) { say(""); }
    });
  }

  function showReadAloud() {
    readAloudBtn.setAttribute("aria-checked", prefs.readAloud ? "true" : "false");
  }

  // ---- voice input (browser speech recognition, Mandarin) -------------------------
  var Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  var recognition = null;
  var heard = "";

  function startListening(event) {
    if (event) { event.preventDefault(); }
    if (recognition) { return; }
    stopSpeaking();
    heard = "";
    recognition = new Recognition();
    recognition.lang = "zh-CN";
    recognition.interimResults = true;
    recognition.continuous = true;  // until the person lets go
    recognition.maxAlternatives = 1;
    recognition.onresult = function (e) {
      var text = "";
      for (var i = 0; i < e.results.length; i++) { text += e.results[i][0].transcript; }
      heard = text.trim();
      if (heard) { input.value = heard.slice(0, input.maxLength); }
    };
    recognition.onerror = function (e) {
      var code = e && e.error;
      if (code === "not-allowed") { say(TEXT.micBlocked); } else if (code === "no-speech" || code === "aborted") {
        say(TEXT.noSpeechHeard);
      } else {
        // network, service-not-allowed, audio-capture …: it will not work on this device today
        say(TEXT.voiceInputUnavailable);
        talkBtn.hidden = true;
      }
    };
    recognition.onend = function () {
      recognition = null;
      talkBtn.classList.remove("ew-listening");
      if (heard) {
        say(TEXT.checkAndSend);  // the person checks the words, then sends them
        input.focus();
      }
    };
    talkBtn.classList.add("ew-listening");
    say(TEXT.listening);
    try {
      recognition.start();
    } catch (err) {
      recognition = null;
      talkBtn.classList.remove("ew-listening");
      say(TEXT.voiceInputUnavailable);
    }
  }

  function stopListening(event) {
    if (event) { event.preventDefault(); }
    if (recognition) { recognition.stop(); }
  }

  if (Recognition) {
    talkBtn.hidden = false;
    talkBtn.addEventListener("pointerdown", function (e) {
      if (e.button === 0) {
        if (talkBtn.setPointerCapture) { try { talkBtn.setPointerCapture(e.pointerId); } catch (err) { /* ignore */ } }
        startListening(e);
      }
    });
    talkBtn.addEventListener("pointerup", stopListening);
    talkBtn.addEventListener("pointercancel", stopListening);
    talkBtn.addEventListener("contextmenu", function (e) { e.preventDefault(); });  // long press
    // From the keyboard: hold the space bar or Enter on the button.
    talkBtn.addEventListener("keydown", function (e) {
      if ((e.key === " " || e.key === "Enter") && !e.repeat) { startListening(e); }
    });
    talkBtn.addEventListener("keyup", function (e) {
      if (e.key === " " || e.key === "Enter") { stopListening(e); }
    });
  }

  // ---- messages ---------------------------------------------------------------------
  // msg.from: "user" | "bot" | "advisor"; system messages of the live thread are "bot".
  function renderMessage(msg) {
    var fromUser = msg.from === "user";
    var fromAdvisor = msg.from === "advisor";
    var row = el("div", "ew-msg " + (fromUser ? "ew-from-user" : "ew-from-bot") +
                 (fromAdvisor ? " ew-from-advisor" : ""));
    var avatar = el("div", "ew-avatar " + (fromUser ? "ew-avatar-user" : fromAdvisor
      ? "ew-avatar-advisor" : "ew-avatar-bot"), fromUser ? "我" : fromAdvisor ? "顾" : "助");
    avatar.setAttribute("aria-hidden", "true");
    var body = el("div", "ew-body");
    var bubble = el("div", "ew-bubble");
    if (fromAdvisor) {
      // Visibly marked: the person knows a human is answering now.
      body.appendChild(el("div", "ew-who", advisorLabel(msg.name) + "："));
    } else {
      bubble.appendChild(el("span", "ew-sr-only", fromUser ? TEXT.me : TEXT.assistant));
    }
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
    if (msg.note) { meta.appendChild(el("span", "ew-note", msg.note)); }
    body.appendChild(meta);

    if (!fromUser && msg.buttons && msg.buttons.length) {
      var quick = el("div", "ew-quick");
      msg.buttons.forEach(function (b) {
        quick.appendChild(button("ew-quick-btn", b.title, function () {
          input.focus();
          send(b.title, b.payload);
        }));
      });
      body.appendChild(quick);
    }
    row.appendChild(avatar);
    row.appendChild(body);
    return row;
  }

  function advisorLabel(name) {
    name = (typeof name === "string") ? name.trim() : "";
    if (!name) { return TEXT.advisor; }
    return name.indexOf(TEXT.advisor) === 0 ? name : TEXT.advisor + " " + name;
  }

  function renderAll() {
    while (log.firstChild) { log.removeChild(log.firstChild); }
    state.messages.forEach(function (m) { log.appendChild(renderMessage(m)); });
    log.appendChild(typing);
    markOldQuickReplies();
    scrollDown();
  }

  function addMessage(msg) {
    state.messages.push(msg);
    saveState();
    var row = renderMessage(msg);
    log.insertBefore(row, typing);
    markOldQuickReplies();
    scrollDown();
    if (msg.from !== "user" && prefs.readAloud) { speak(msg.speech || msg.text); }
    return row;
  }

  // Only the newest answer's quick replies stay active (like WeChat menus).
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
    var userMsg = null;
    var userRow = null;
    if (shown !== null) {
      stopSpeaking();
      userMsg = { from: "user", text: shown, ts: Date.now() };
      userRow = addMessage(userMsg);
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
        data = data || {};
        if (typeof data.sender === "string" && data.sender) {
          state.sender = data.sender;  // the id the server issued; sent back from now on
          saveState();
        }
        var replies = Array.isArray(data.replies) ? data.replies : [];
        if (!replies.length && data.error) { replies = [{ text: data.error }]; }
        var goLive = data.live === true;
        replies.forEach(function (r) {
          if (!r || typeof r.text !== "string" || !r.text) { return; }
          var custom = (r.custom && typeof r.custom === "object") ? r.custom : {};
          if (custom.action === "handoff" && custom.live === true) { goLive = true; }
          addMessage({ from: "bot", text: r.text, buttons: cleanButtons(r.buttons),
                       speech: typeof r.speech === "string" ? r.speech : null, ts: Date.now() });
        });
        if (replies.length) { setKeyboard(replies[replies.length - 1]); }
        if (data.live === true && !replies.length && userMsg) {
          // An advisor holds the conversation: the message went to them, not to the assistant.
          userMsg.note = TEXT.sentToAdvisor;
          saveState();
          var meta = userRow.querySelector(".ew-meta");
          if (meta && !meta.querySelector(".ew-note")) { meta.appendChild(el("span", "ew-note", userMsg.note)); }
        }
        if (goLive) { startLive(); } else if (state.live) { state.live.active = Date.now(); saveState(); }
      }).catch(function () {
        addMessage({ from: "bot", text: OFFLINE_TEXT, buttons: [], ts: Date.now() });
      }).then(function () { setWaiting(-1); });
    });
    return pending;
  }

  /* The reply flag expects_digits (a phone number, a code): phones show the digit keyboard for
     the answer. Not when the number may end in X (an ID number), nor for other questions. */
  function setKeyboard(reply) {
    var custom = (reply && reply.custom && typeof reply.custom === "object") ? reply.custom : {};
    if (custom.expects_digits && custom.digits_allow_x !== true) {
      input.setAttribute("inputmode", "numeric");
    } else {
      input.removeAttribute("inputmode");
    }
  }

  // ---- live advisor messages -------------------------------------------------------------
  // state.live = {after: last message id seen, active: when something last happened}.
  var pollTimer = null;

  function startLive() {
    if (!state.live) { state.live = { after: 0 }; }
    state.live.active = Date.now();
    saveState();
    schedulePoll(0);
  }

  function stopLive() {
    state.live = null;
    saveState();
    if (pollTimer) { window.clearTimeout(pollTimer); pollTimer = null; }
  }

  function schedulePoll(delay) {
    if (pollTimer) { window.clearTimeout(pollTimer); }
    pollTimer = window.setTimeout(poll, delay);
  }

  function poll() {
    pollTimer = null;
    if (!state.live || !state.sender) { return; }
    if (Date.now() - state.live.active > LIVE_IDLE_MS) { stopLive(); return; }
    var url = BASE + "/api/chat/updates?sender=" + encodeURIComponent(state.sender) +
      "&after=" + encodeURIComponent(String(state.live.after || 0));
    fetch(url, { headers: { Accept: "application/json" } }).then(function (response) {
      if (response.status === 400 || response.status === 404) { return { state: "none" }; }
      return response.json();
    }).then(function (data) {
      if (!state.live) { return; }
      var messages = (data && Array.isArray(data.messages)) ? data.messages : [];
      messages.forEach(showLiveMessage);
      var liveState = data && data.state;
      if (liveState === "closed" || liveState === "none") { stopLive(); return; }
      schedulePoll(POLL_MS);
    }).catch(function () {
      if (state.live) { schedulePoll(POLL_MS); }  // offline for a moment: try again
    });
  }

  function showLiveMessage(m) {
    if (!m || typeof m.text !== "string" || !m.text) { return; }
    var id = Number(m.id);
    if (!isFinite(id) || id <= (state.live.after || 0)) { return; }  // seen already
    state.live.after = id;
    state.live.active = Date.now();
    var at = Date.parse(m.at);
    addMessage({ from: m.author === "advisor" ? "advisor" : "bot", name: m.name, text: m.text,
                 speech: typeof m.speech === "string" ? m.speech : null,
                 buttons: cleanButtons(m.buttons), ts: isFinite(at) ? at : Date.now() });
  }

  // ---- switches -------------------------------------------------------------------------
  function setSize(size) {
    prefs.size = size;
    savePrefs();
    root.classList.toggle("ew-size-large", size === "large");
    root.classList.toggle("ew-size-xlarge", size === "xlarge");
    sizeButtons.forEach(function (b) {
      b.setAttribute("aria-pressed", b.dataset.size === size ? "true" : "false");
    });
    scrollDown();
  }

  // byPerson: the person pressed 在线咨询 or 收起, so focus follows (never on page load).
  function setOpen(open, byPerson) {
    state.open = !!open;
    saveState();
    root.classList.toggle("ew-open", state.open);
    launcher.hidden = state.open;
    panel.hidden = !state.open;
    if (state.open) {
      if (!state.messages.length && waiting === 0) { send(null, "/greet"); }
      if (byPerson) { input.focus(); }
      scrollDown();
    } else {
      stopSpeaking();
      if (byPerson) { launcher.focus(); }
    }
  }

  function mount() {
    document.body.appendChild(root);
    renderAll();
    setSize(prefs.size);
    showReadAloud();
    if (prefs.readAloud) { setReadAloud(true, false); }  // the device may have lost its voice
    setOpen(state.open || START_OPEN);
    if (state.live) { schedulePoll(0); }  // a reload while an advisor is on the line
  }

  window.Elder12349Widget = {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    send: function (text) { return send(String(text), null); },
    reset: function () {
      stopLive();
      state = { sender: null, messages: [], open: state.open, live: null };
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
