// The vertical feed: one full-height video at a time. The visible video plays and loops, and the next two
// preload; the others pause. Keys: ArrowDown/j next, ArrowUp/k previous, space pause, m sound, l like. More
// pages load from the feed API's next_cursor as the end nears. User text is only ever set with textContent.
// The player: a tap pauses or plays (with a brief indicator), two quick taps like (with a heart where the finger
// was; never an unlike), a thin progress bar seeks (drag, click, or arrow keys when focused), and a sound button
// whose choice is remembered on this device (browsers autoplay muted: a remembered "sound on" comes back with
// the viewer's first gesture). On wide screens, comments open in a panel beside the video.
// For You may go on with videos already seen once the fresh ones run out (items with seen_before): a quiet
// "You're all caught up" marks the first of them.
// Signed-in viewers report watch events (impression, watch, complete, replay, skip) to /api/events in batches.
// For You items carry "Why this video?" (the item's why, in plain words) and "Not interested" (this video, its
// creator or one of its hashtags): a choice hides the matching videos at once and offers an Undo.
(function () {
  "use strict";
  const shell = document.getElementById("feed-shell");
  const feed = document.getElementById("feed");
  const statusLine = document.getElementById("feed-status");
  const empty = document.getElementById("feed-empty");
  const source = shell.dataset.source;
  const signedIn = shell.dataset.signedIn === "1";
  const myId = shell.dataset.userId || "";
  const tuneUrl = shell.dataset.tune || "";
  const first = JSON.parse(document.getElementById("feed-data").textContent);
  const TOKEN_RE = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,100})|(?<![\p{L}\p{N}_@])@([A-Za-z0-9_.]{2,30})/gu;

  const reels = []; // {data, el, video, hls, attached, seen, hiddenBy, userPaused, ...controls}
  let active = -1;
  let muted = true; // browsers only autoplay muted; the remembered choice comes back with the first gesture
  const SOUND_KEY = "reelm:sound";
  let wantSound = false;
  try { wantSound = window.localStorage.getItem(SOUND_KEY) === "on"; } catch (_e) { /* storage blocked */ }
  let soundPending = wantSound; // waiting for a gesture to turn the remembered sound back on
  let caughtUp = false; // the "You're all caught up" divider is drawn (once)
  let cursor = first.next_cursor;
  let loading = false;
  let lastWheel = 0;

  function say(text) {
    statusLine.textContent = text;
    if (text) setTimeout(function () { if (statusLine.textContent === text) statusLine.textContent = ""; }, 2500);
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function caption(text) {
    const p = el("p", { class: "caption" });
    let at = 0;
    TOKEN_RE.lastIndex = 0;
    let match;
    while ((match = TOKEN_RE.exec(text)) !== null) {
      if (match.index > at) p.appendChild(document.createTextNode(text.slice(at, match.index)));
      if (match[1] !== undefined && !/^\d+$/.test(match[1])) {
        p.appendChild(el("a", { href: "/tag/" + encodeURIComponent(match[1].toLowerCase()) }, match[0]));
      } else if (match[2] !== undefined) {
        const name = match[2].replace(/\.+$/, "");
        p.appendChild(el("a", { href: "/@" + encodeURIComponent(name.toLowerCase()) }, "@" + name));
        if (name.length < match[2].length) p.appendChild(document.createTextNode(match[2].slice(name.length)));
      } else {
        p.appendChild(document.createTextNode(match[0]));
      }
      at = match.index + match[0].length;
    }
    if (at < text.length) p.appendChild(document.createTextNode(text.slice(at)));
    return p;
  }

  // 24×24 icons, drawn as SVG so they never depend on an emoji font.
  const ICONS = {
    like: "M12 21.4 10.6 20C5.4 15.4 2 12.3 2 8.5 2 5.4 4.4 3 7.5 3c1.7 0 3.4.8 4.5 2.1C13.1 3.8 14.8 3 16.5 3 19.6 3 22 5.4 22 8.5c0 3.8-3.4 6.9-8.6 11.5z",
    comments: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z",
    share: "M14 4l7 7-7 7v-4.1C9 13.9 5.5 15.5 3 19c1-5 4-10 11-11z",
    bookmark: "M6 2h12a1 1 0 0 1 1 1v19l-7-5-7 5V3a1 1 0 0 1 1-1z",
    why: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm1 15h-2v-6h2zm0-8h-2V7h2z",
    "not-interested": "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zM4 12a8 8 0 0 1 12.9-6.3L5.7 16.9A8 8 0 0 1 4 12zm8 8a8 8 0 0 1-4.9-1.7L18.3 7.1A8 8 0 0 1 12 20z",
    muted: "M3 9v6h4l5 5V4L7 9zm13.6 3 2.7-2.7-1.4-1.4-2.7 2.7-2.7-2.7-1.4 1.4 2.7 2.7-2.7 2.7 1.4 1.4 2.7-2.7 2.7 2.7 1.4-1.4z",
    sound: "M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z",
    play: "M8 5v14l11-7z",
    pause: "M6 5h4v14H6zm8 0h4v14h-4z",
  };

  function icon(name, extra) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", extra ? "icon " + extra : "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  function button(cls, label, count, pressed) {
    // The name is the hidden label plus the visible count ("Like 3"), so speech input can say what it sees.
    const b = el("button", { type: "button", class: cls });
    if (pressed !== undefined) b.setAttribute("aria-pressed", pressed ? "true" : "false");
    b.appendChild(icon(cls));
    b.appendChild(el("span", { class: "visually-hidden" }, label));
    b.appendChild(el("span", { class: "count" }, count === null ? "" : String(count)));
    return b;
  }

  function csrf() {
    const found = document.cookie.split(";").map(function (c) { return c.trim(); })
      .find(function (c) { return c.startsWith("csrftoken="); });
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }

  function toLogin() {
    window.location.href = shell.dataset.login + "?next=" + encodeURIComponent(window.location.pathname);
  }

  // force: true only ever sets (a double-tap likes, never unlikes); undefined toggles.
  function react(reel, kind, btn, force) {
    if (!signedIn) { toLogin(); return; }
    if (btn.disabled) return;
    const on = force === undefined ? btn.getAttribute("aria-pressed") !== "true" : force;
    btn.disabled = true;
    fetch("/api/videos/" + reel.data.id + "/" + kind, {
      method: on ? "PUT" : "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf() },
    }).then(function (r) {
      if (r.status === 401 || r.status === 403) { toLogin(); return null; }
      return r.ok ? r.json() : Promise.reject(new Error(String(r.status)));
    }).then(function (out) {
      if (!out) return;
      btn.setAttribute("aria-pressed", out.active ? "true" : "false");
      btn.querySelector(".count").textContent = String(out.count);
    }).catch(function () { say("That did not work; try again."); })
      .finally(function () { btn.disabled = false; });
  }

  // --- watch events: buffered, sent in batches; a failed send never touches playback ---------------------------
  const EVENTS_URL = "/api/events";
  const FLUSH_EVERY_MS = 10000;
  const FLUSH_AT = 50;
  const SKIP_BELOW_MS = 2000;
  const sessionId = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID()
    : String(Date.now()) + Math.random().toString(16).slice(2);
  let buffer = [];
  let retry = []; // batches that failed on the network once; sent again with the next flush, then dropped

  function durationMs(reel) {
    const d = reel.video.duration;
    if (isFinite(d) && d > 0) return Math.round(d * 1000);
    return reel.data.duration ? Math.round(reel.data.duration * 1000) : 0;
  }

  function record(reel, kind, watchedMs) {
    if (!signedIn) return;
    buffer.push({
      video_id: reel.data.id,
      kind: kind,
      watched_ms: Math.max(0, Math.round(watchedMs || 0)),
      duration_ms: durationMs(reel),
      position_ms: Math.max(0, Math.round((reel.video.currentTime || 0) * 1000)),
      session_id: sessionId,
      client_at: new Date().toISOString(),
    });
    if (buffer.length >= FLUSH_AT) flush(false);
  }

  function send(events, keepalive, retried) {
    try {
      fetch(EVENTS_URL, {
        method: "POST",
        credentials: "same-origin",
        keepalive: keepalive,
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ events: events }),
      }).catch(function () {
        if (!retried) retry.push(events); // a network error: once more later; a 4xx/5xx answer is dropped
      });
    } catch (_e) { /* never let reporting break the player */ }
  }

  function flush(keepalive) {
    if (!signedIn) return;
    const again = retry;
    retry = [];
    again.forEach(function (events) { send(events, keepalive, true); });
    while (buffer.length) send(buffer.splice(0, FLUSH_AT), keepalive, false);
  }

  // Per reel while it is the active one: seen = {watchedMs, pendingMs, completed, lastTime}.
  function startWatching(reel) {
    if (reel.seen) return; // still the active reel (a page of more videos was added)
    reel.seen = { watchedMs: 0, pendingMs: 0, completed: false, lastTime: reel.video.currentTime || 0 };
    record(reel, "impression", 0);
  }

  function stopWatching(reel) {
    const seen = reel.seen;
    if (!seen) return;
    reel.seen = null;
    if (seen.pendingMs > 0) record(reel, "watch", seen.pendingMs);
    if (!seen.completed && seen.watchedMs < SKIP_BELOW_MS) record(reel, "skip", seen.watchedMs);
  }

  function onTime(reel) {
    const seen = reel.seen;
    if (!seen) return;
    const now = reel.video.currentTime;
    const delta = now - seen.lastTime;
    seen.lastTime = now;
    let played = 0;
    let looped = false;
    if (delta > 0 && delta < 1.5) {
      played = delta;
    } else if (delta < 0) {
      const duration = durationMs(reel) / 1000;
      // Back to the start from near the end: the loop went round (a seek elsewhere counts as nothing).
      if (duration > 0 && now < 1.5 && now - delta > duration - 1.5) {
        looped = true;
        played = Math.max(0, duration - (now - delta)) + now;
      }
    }
    seen.watchedMs += played * 1000;
    seen.pendingMs += played * 1000;
    if (looped) {
      record(reel, seen.completed ? "replay" : "complete", seen.watchedMs);
      seen.completed = true;
    }
  }

  setInterval(function () { flush(false); }, FLUSH_EVERY_MS);

  function share(reel) {
    const url = window.location.origin + reel.data.urls.page;
    const done = function () { say("Link copied"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(url).then(done, function () { say(url); });
    } else {
      say(url);
    }
  }

  function build(data) {
    const index = reels.length;
    // ARIA's feed pattern: articles in a role=feed container; the length of an endless feed is unknown (-1).
    const section = el("article", {
      class: "reel",
      "aria-label": "Video by @" + data.author.username,
      "aria-posinset": String(index + 1),
      "aria-setsize": "-1",
    });
    section.dataset.index = String(index);
    section.dataset.id = data.id;
    if (data.seen_before === true) section.dataset.seenBefore = "true";
    if (data.seen_before === true && !caughtUp) {
      // The first video seen before: the fresh ones ran out just above it.
      caughtUp = true;
      const note = el("div", { class: "caught-up" });
      note.appendChild(el("p", { class: "caught-up-title" }, "You're all caught up"));
      note.appendChild(el("p", { class: "caught-up-more" }, "Here are videos you've seen before"));
      section.appendChild(note);
    }

    // The stage is the video's box: the caption, sound button, indicator and progress bar sit on it.
    const stage = el("div", { class: "reel-stage" });
    const video = el("video", { playsinline: "", loop: "", preload: "none", "aria-label": "Video by @" + data.author.username });
    video.muted = true;
    if (data.urls.poster) video.poster = data.urls.poster;
    stage.appendChild(video);

    const mute = el("button", { type: "button", class: "mute", "aria-pressed": muted ? "true" : "false" });
    mute.appendChild(icon("muted", "when-muted"));
    mute.appendChild(icon("sound", "when-sound"));
    mute.appendChild(el("span", { class: "visually-hidden" }, "Mute"));
    stage.appendChild(mute);

    const indicator = el("div", { class: "tap-indicator", "aria-hidden": "true" });
    indicator.appendChild(icon("play", "when-paused"));
    indicator.appendChild(icon("pause", "when-playing"));
    stage.appendChild(indicator);

    const overlay = el("div", { class: "overlay" });
    overlay.appendChild(el("a", { class: "author", href: data.author.profile_url }, "@" + data.author.username));
    if (data.caption) overlay.appendChild(caption(data.caption));
    stage.appendChild(overlay);
    section.appendChild(stage);

    const reel = {
      data: data, el: section, stage: stage, video: video, hls: null, attached: false, seen: null,
      hiddenBy: new Set(), userPaused: false, scrubbing: false, mute: mute, indicator: indicator,
    };
    reel.progress = progressBar(reel);
    stage.appendChild(reel.progress);
    video.addEventListener("timeupdate", function () { onTime(reel); paint(reel, true); });
    video.addEventListener("loadedmetadata", function () { paint(reel, true); });
    video.addEventListener("play", function () { if (reels[active] === reel) animate(); });
    mute.addEventListener("click", function () { setMuted(!muted); });
    stage.addEventListener("click", function (event) { onTap(reel, event); });

    const actions = el("div", { class: "actions" });
    const like = button("like", "Like", data.like_count, data.liked === true);
    like.addEventListener("click", function () { react(reel, "like", like); });
    const comments = button("comments", "Comments", data.comment_count);
    comments.addEventListener("click", function () { openComments(reel); });
    const shareBtn = button("share", "Share", null);
    shareBtn.addEventListener("click", function () { share(reel); });
    const save = button("bookmark", "Bookmark", data.bookmark_count, data.bookmarked === true);
    save.addEventListener("click", function () { react(reel, "bookmark", save); });
    [like, comments, shareBtn, save].forEach(function (b) { actions.appendChild(b); });
    reel.likeBtn = like;
    reel.commentsBtn = comments;
    if (data.why) {
      addWhy(reel, actions);
      addNotInterested(reel, actions);
    }
    section.appendChild(actions);

    reels.push(reel);
    feed.appendChild(section);
    observer.observe(section);
    return reel;
  }

  // --- the player: tap to pause, double-tap to like, progress bar, sound ---------------------------------------
  const DOUBLE_TAP_MS = 300;
  let lastTap = null; // {reel, time}
  let tapTimer = 0;
  let swallowTapUntil = 0; // the tap that brought the remembered sound back does nothing else
  let frame = 0;

  function onTap(reel, event) {
    if (event.target.closest("a, button, input, textarea, .progress, .popover, .caught-up")) return;
    if (openPopover) return; // this tap only closes the open popover
    const now = Date.now();
    if (now < swallowTapUntil) return;
    if (lastTap && lastTap.reel === reel && now - lastTap.time < DOUBLE_TAP_MS) {
      // A second (or third…) quick tap: a like, never an unlike; the pending pause is called off.
      clearTimeout(tapTimer);
      tapTimer = 0;
      lastTap.time = now;
      doubleTap(reel, event);
      return;
    }
    lastTap = { reel: reel, time: now };
    clearTimeout(tapTimer);
    tapTimer = setTimeout(function () { tapTimer = 0; togglePlay(reel); }, DOUBLE_TAP_MS);
  }

  function doubleTap(reel, event) {
    if (!signedIn) { say("Log in to like videos."); return; }
    const box = reel.stage.getBoundingClientRect();
    const heart = el("div", { class: "heart", "aria-hidden": "true" });
    heart.appendChild(icon("like"));
    heart.style.left = (event.clientX - box.left) + "px";
    heart.style.top = (event.clientY - box.top) + "px";
    heart.style.setProperty("--tilt", (Math.random() * 30 - 15).toFixed(1) + "deg");
    reel.stage.appendChild(heart);
    const gone = function () { heart.remove(); };
    heart.addEventListener("animationend", gone);
    setTimeout(gone, 1500);
    if (reel.likeBtn.getAttribute("aria-pressed") !== "true") react(reel, "like", reel.likeBtn, true);
  }

  function togglePlay(reel) {
    const index = reels.indexOf(reel);
    if (index !== active) { go(index); return; }
    const video = reel.video;
    if (video.paused) {
      reel.userPaused = false;
      indicate(reel, "playing");
      play(reel);
    } else {
      reel.userPaused = true;
      video.pause();
      indicate(reel, "paused");
      say("Paused");
    }
  }

  // "paused" stays up while the video is paused; "playing" shows briefly and fades; "" hides it.
  function indicate(reel, state) {
    const node = reel.indicator;
    node.classList.remove("flash");
    if (state) node.dataset.state = state; else delete node.dataset.state;
    if (state) { void node.offsetWidth; node.classList.add("flash"); }
  }

  function play(reel) {
    const video = reel.video;
    video.muted = muted;
    const started = video.play();
    if (!started) return;
    started.catch(function (err) {
      // Sound without a gesture is refused: play muted, and bring the sound back with the next gesture.
      if (err && err.name === "NotAllowedError" && !video.muted && reels[active] === reel) {
        applyMuted(true);
        soundPending = wantSound;
        video.play().catch(function () {});
      }
    });
  }

  function applyMuted(value) {
    muted = value;
    reels.forEach(function (reel) {
      reel.video.muted = muted;
      reel.mute.setAttribute("aria-pressed", muted ? "true" : "false");
    });
  }

  // remember: false when the remembered choice comes back by itself (nothing new to store).
  function setMuted(value, remember) {
    soundPending = false;
    applyMuted(value);
    if (remember !== false) {
      wantSound = !value;
      try { window.localStorage.setItem(SOUND_KEY, value ? "off" : "on"); } catch (_e) { /* storage blocked */ }
    }
    const reel = reels[active];
    if (reel && !value && reel.video.paused && !reel.userPaused) play(reel);
    say(value ? "Sound off" : "Sound on");
  }

  function toggleMute() {
    setMuted(!muted);
  }

  // The viewer's first gesture brings back a remembered "sound on" (the sound button and m speak for themselves).
  function onGesture(event) {
    if (!soundPending || !reels[active]) return;
    if (event.type === "keydown" && (event.altKey || event.ctrlKey || event.metaKey || /^(m|M|Escape|Tab|Shift)$/.test(event.key))) return;
    const target = event.target instanceof Element ? event.target : null;
    if (target && target.closest("button.mute")) return;
    if (navigator.userActivation && !navigator.userActivation.isActive) return;
    setMuted(false, false);
    if (event.type !== "keydown" && target && target.closest(".reel-stage") && !target.closest("a, button, .progress")) {
      swallowTapUntil = Date.now() + 500;
    }
  }
  ["pointerup", "touchend", "keydown"].forEach(function (type) { document.addEventListener(type, onGesture, true); });

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function duration(reel) {
    const d = reel.video.duration;
    return isFinite(d) && d > 0 ? d : 0;
  }

  // Draw the bar's position; with full, its numbers for assistive technology too.
  function paint(reel, full) {
    const d = duration(reel);
    const t = reel.video.currentTime || 0;
    reel.progress.style.setProperty("--p", d ? String(Math.min(1, t / d)) : "0");
    if (!full) return;
    reel.progress.setAttribute("aria-valuemax", String(Math.round(d || reel.data.duration || 0)));
    reel.progress.setAttribute("aria-valuenow", String(Math.round(t)));
    reel.progress.setAttribute("aria-valuetext", clock(t) + " of " + clock(d || reel.data.duration));
  }

  // A smooth bar for the video playing (timeupdate comes only a few times a second).
  function animate() {
    if (frame) return;
    const step = function () {
      frame = 0;
      const reel = reels[active];
      if (!reel) return;
      paint(reel, false);
      if (!reel.video.paused) frame = window.requestAnimationFrame(step);
    };
    frame = window.requestAnimationFrame(step);
  }

  function seek(reel, seconds) {
    const d = duration(reel);
    if (!d) return;
    const to = Math.max(0, Math.min(d - 0.05, seconds));
    reel.video.currentTime = to;
    if (reel.seen) reel.seen.lastTime = to; // a seek is neither watching nor a loop
    paint(reel, true);
  }

  function progressBar(reel) {
    const bar = el("div", {
      class: "progress", role: "slider", tabindex: "0", "aria-label": "Seek",
      "aria-valuemin": "0", "aria-valuemax": String(Math.round(reel.data.duration || 0)), "aria-valuenow": "0",
      "aria-valuetext": "0:00 of " + clock(reel.data.duration),
    });
    const track = el("div", { class: "progress-track" });
    track.appendChild(el("div", { class: "progress-fill" }));
    track.appendChild(el("div", { class: "progress-thumb" }));
    bar.appendChild(track);

    const fromPointer = function (event) {
      const box = bar.getBoundingClientRect();
      if (!box.width) return;
      seek(reel, Math.max(0, Math.min(1, (event.clientX - box.left) / box.width)) * duration(reel));
    };
    bar.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      if (reels[active] !== reel) go(reels.indexOf(reel));
      reel.scrubbing = true;
      bar.classList.add("scrubbing");
      try { bar.setPointerCapture(event.pointerId); } catch (_e) { /* not capturable */ }
      fromPointer(event);
    });
    bar.addEventListener("pointermove", function (event) { if (reel.scrubbing) fromPointer(event); });
    const done = function () {
      reel.scrubbing = false;
      bar.classList.remove("scrubbing");
    };
    bar.addEventListener("pointerup", done);
    bar.addEventListener("pointercancel", done);
    bar.addEventListener("lostpointercapture", done);
    bar.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey) return;
      const d = duration(reel);
      const small = Math.min(5, Math.max(1, d / 10));
      const t = reel.video.currentTime || 0;
      let to = null;
      if (event.key === "ArrowRight" || event.key === "ArrowUp") to = t + small;
      else if (event.key === "ArrowLeft" || event.key === "ArrowDown") to = t - small;
      else if (event.key === "PageUp") to = t + d / 5;
      else if (event.key === "PageDown") to = t - d / 5;
      else if (event.key === "Home") to = 0;
      else if (event.key === "End") to = d;
      if (to === null) return;
      event.preventDefault();
      event.stopPropagation(); // arrows seek here rather than move between videos
      seek(reel, to);
    });
    return bar;
  }

  // --- comments: a panel beside the video on wide screens; the video's page on phones --------------------------
  const commentsPanel = document.getElementById("comments-panel");
  const feedMain = document.getElementById("feed-main");
  const wide = window.matchMedia("(min-width: 900px)");
  let commentsView = null; // ReelmComments' panel, made on first use
  let commentsFor = null; // the reel whose comments the open panel shows

  function openComments(reel) {
    if (!commentsPanel || !wide.matches || !window.ReelmComments) {
      window.location.href = reel.data.urls.page + "#comments";
      return;
    }
    if (commentsFor === reel) { closeComments(true); return; }
    const index = reels.indexOf(reel);
    if (index !== active) go(index);
    commentsPanel.hidden = false;
    feedMain.classList.add("with-comments");
    showComments(reel);
    document.getElementById("comments-panel-title").focus();
  }

  function commentCount(reel, delta) {
    const count = reel.commentsBtn.querySelector(".count");
    count.textContent = String(Math.max(0, Number(count.textContent) + delta));
    if (commentsFor === reel) document.getElementById("comments-panel-count").textContent = count.textContent;
  }

  function showComments(reel) {
    if (commentsFor === reel) return;
    if (commentsFor) commentsFor.commentsBtn.setAttribute("aria-expanded", "false");
    commentsFor = reel;
    reel.commentsBtn.setAttribute("aria-controls", "comments-panel");
    reel.commentsBtn.setAttribute("aria-expanded", "true");
    document.getElementById("comments-panel-count").textContent = reel.commentsBtn.querySelector(".count").textContent;
    document.getElementById("comments-panel-page").href = reel.data.urls.page + "#comments";
    if (!commentsView) {
      commentsView = window.ReelmComments.panel({
        list: document.getElementById("comments-panel-list"),
        form: document.getElementById("comments-panel-form"),
        text: document.getElementById("comments-panel-body"),
        status: document.getElementById("comments-panel-status"),
        signedIn: signedIn,
      });
    }
    commentsView.show(reel.data.id, function (delta) { commentCount(reel, delta); });
  }

  function closeComments(returnFocus) {
    if (!commentsPanel || commentsPanel.hidden) return;
    commentsPanel.hidden = true;
    feedMain.classList.remove("with-comments");
    const reel = commentsFor;
    commentsFor = null;
    if (!reel) return;
    reel.commentsBtn.setAttribute("aria-expanded", "false");
    if (returnFocus) reel.commentsBtn.focus();
  }

  if (commentsPanel) {
    document.getElementById("comments-panel-close").addEventListener("click", function () { closeComments(true); });
    wide.addEventListener("change", function (event) { if (!event.matches) closeComments(false); });
  }

  function attach(reel) {
    if (reel.attached) return;
    reel.attached = true;
    const video = reel.video;
    const hlsUrl = reel.data.urls.hls;
    const mp4 = reel.data.urls.mp4;
    video.preload = "auto";
    if (hlsUrl && window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls({ capLevelToPlayerSize: true, maxBufferLength: 10 });
      hls.on(window.Hls.Events.ERROR, function (_event, info) {
        if (info.fatal && mp4) { hls.destroy(); reel.hls = null; video.src = mp4; }
      });
      hls.loadSource(hlsUrl);
      hls.attachMedia(video);
      reel.hls = hls;
    } else if (hlsUrl && video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = hlsUrl;
    } else if (mp4) {
      video.src = mp4;
    }
  }

  function detach(reel) {
    if (!reel.attached) return;
    reel.attached = false;
    reel.video.pause();
    if (reel.hls) { reel.hls.destroy(); reel.hls = null; }
    reel.video.removeAttribute("src");
    reel.video.load();
  }

  function activate(index) {
    if (index === active || index < 0 || index >= reels.length) return;
    if (reels[active]) stopWatching(reels[active]);
    if (openPopover && openPopover.reel !== reels[index]) closePopover(false);
    if (undo && undo.landedOn !== index && !undoBox.contains(document.activeElement)) hideUndo();
    active = index;
    startWatching(reels[index]);
    warm(index);
    reels.forEach(function (reel, i) {
      reel.el.classList.toggle("active", i === index);
      if (i === index) {
        reel.el.setAttribute("aria-current", "true");
        reel.userPaused = false; // coming back to a video plays it again
        indicate(reel, "");
        play(reel); // autoplay may need a gesture: play() falls back to muted
        paint(reel, true);
      } else {
        reel.el.removeAttribute("aria-current");
        reel.video.pause();
        if (reel.userPaused) { reel.userPaused = false; indicate(reel, ""); }
      }
    });
    if (commentsFor) showComments(reels[index]);
    if (visibleFrom(index + 1, 1).length < 3) more();
  }

  // The one before stays warm and the next two preload (hls.js attached, or preload=auto), so a swipe is instant;
  // those far away let their media go.
  function warm(index) {
    reels.forEach(function (reel, i) {
      if (i >= index - 1 && i <= index + 2) attach(reel);
      else if (Math.abs(i - index) > 4) detach(reel);
    });
  }

  function go(index) {
    if (index < 0 || index >= reels.length || reels[index].el.hidden) return;
    reels[index].el.scrollIntoView({ block: "start", behavior: "auto" });
    activate(index);
  }

  // Indexes of the reels still shown, from index on in direction (1 down, -1 up).
  function visibleFrom(index, direction) {
    const out = [];
    for (let i = index; i >= 0 && i < reels.length; i += direction) if (!reels[i].el.hidden) out.push(i);
    return out;
  }

  // The next (or previous) reel still shown: hidden reels are stepped over.
  function step(direction) {
    const next = visibleFrom(active + direction, direction);
    if (next.length) go(next[0]);
  }

  function more() {
    if (loading || !cursor) return;
    loading = true;
    feed.setAttribute("aria-busy", "true");
    fetch(source + "?cursor=" + encodeURIComponent(cursor), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
      .then(function (page) { cursor = page.next_cursor; add(page.items, false); })
      .catch(function () { say("Could not load more videos."); })
      .finally(function () { loading = false; feed.removeAttribute("aria-busy"); });
  }

  // The empty state is for an empty first page only (what later pages bring never shows it).
  function add(items, firstPage) {
    const seen = new Set(reels.map(function (r) { return r.data.id; }));
    items.forEach(function (item) {
      if (seen.has(item.id)) return;
      const reel = build(item);
      // A later page may bring what was just turned down (the popular ranking is the same for everyone).
      choices.forEach(function (choice) { if (matches(reel, choice)) hide(reel, choice.id); });
    });
    renumber();
    if (firstPage) empty.hidden = visibleFrom(0, 1).length > 0;
    if (active >= 0) warm(active); // the new videos right after this one preload; what plays goes on as it was
  }

  // The reel most in view becomes active (touch swipes and native scrolling land here).
  const observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting && entry.intersectionRatio >= 0.6) activate(Number(entry.target.dataset.index));
    });
  }, { root: feed, threshold: [0.6] });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "Escape" && !openPopover && commentsFor && commentsPanel.contains(target)) {
      event.preventDefault();
      closeComments(true);
      return;
    }
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (commentsFor && commentsPanel.contains(target) && /^(Arrow|Page|Home|End| )/.test(event.key)) return; // it scrolls
    if (event.key === "Escape" && openPopover) { event.preventDefault(); closePopover(true); return; }
    if (event.key === "Escape" && commentsFor) { event.preventDefault(); closeComments(true); return; }
    if (event.key === "ArrowDown" || event.key === "j") { event.preventDefault(); step(1); }
    else if (event.key === "ArrowUp" || event.key === "k") { event.preventDefault(); step(-1); }
    else if (event.key === "m") { event.preventDefault(); toggleMute(); }
    else if (event.key === "l" && reels[active]) { event.preventDefault(); reels[active].likeBtn.click(); }
    else if (event.key === " " && reels[active] && !(target && target.closest && target.closest("button, a, summary, [role=slider]"))) {
      event.preventDefault();
      togglePlay(reels[active]);
    }
  });

  // One wheel gesture moves one video, however many events it fires.
  feed.addEventListener("wheel", function (event) {
    if (Math.abs(event.deltaY) < 4) return;
    if (openPopover && openPopover.panel.contains(event.target)) return; // a long list scrolls itself
    event.preventDefault();
    const now = Date.now();
    if (now - lastWheel < 450) return;
    lastWheel = now;
    step(event.deltaY > 0 ? 1 : -1);
  }, { passive: false });

  document.addEventListener("visibilitychange", function () {
    const reel = reels[active];
    if (!reel) return;
    if (document.hidden) {
      reel.video.pause();
      if (reel.seen) {
        onTime(reel);
        if (reel.seen.pendingMs > 0) record(reel, "watch", reel.seen.pendingMs);
        reel.seen.pendingMs = 0;
      }
      flush(true);
    } else {
      if (reel.seen) reel.seen.lastTime = reel.video.currentTime || 0;
      if (!reel.userPaused) play(reel);
    }
  });

  window.addEventListener("pagehide", function () {
    const reel = reels[active];
    if (reel) stopWatching(reel);
    flush(true);
  });

  // --- "Why this video?" and "Not interested" (For You) --------------------------------------------------------
  const undoBox = document.getElementById("feed-undo");
  const undoText = document.getElementById("feed-undo-text");
  const undoButton = document.getElementById("feed-undo-button");
  const NOT_INTERESTED_URL = "/api/recommendations/not-interested";
  const MAX_TAG_OPTIONS = 6;
  let openPopover = null; // {reel, button, panel, focusFirst}
  let choices = []; // this page's "not interested" choices still in force: {id, scope, target}
  let undo = null; // {choice, origin, landedOn}
  let popoverCount = 0;

  function popover(reel, btn, panel, focusFirst) {
    const id = "popover-" + (++popoverCount);
    panel.id = id;
    panel.hidden = true;
    btn.setAttribute("aria-expanded", "false");
    btn.setAttribute("aria-controls", id);
    btn.addEventListener("click", function () {
      if (openPopover && openPopover.panel === panel) closePopover(false);
      else showPopover({ reel: reel, button: btn, panel: panel, focusFirst: focusFirst });
    });
  }

  function showPopover(state) {
    closePopover(false);
    openPopover = state;
    state.button.setAttribute("aria-expanded", "true");
    state.panel.hidden = false;
    if (state.focusFirst) {
      const first = state.panel.querySelector("button, a");
      if (first) first.focus();
    }
  }

  function closePopover(returnFocus) {
    const state = openPopover;
    if (!state) return;
    openPopover = null;
    state.button.setAttribute("aria-expanded", "false");
    state.panel.hidden = true;
    if (returnFocus) state.button.focus();
  }

  // A click anywhere else closes the open popover, as Escape does.
  document.addEventListener("click", function (event) {
    if (!openPopover) return;
    if (openPopover.panel.contains(event.target) || openPopover.button.contains(event.target)) return;
    closePopover(false);
  });

  function addWhy(reel, actions) {
    const why = reel.data.why;
    const btn = button("why", "Why this video?", null);
    const panel = el("div", { class: "popover why-panel" });
    panel.appendChild(el("p", { class: "why-summary" }, why.summary));
    if (why.reasons && why.reasons.length) {
      const list = el("ul", { class: "why-reasons" });
      why.reasons.forEach(function (reason) { list.appendChild(el("li", {}, capitalise(reason))); });
      panel.appendChild(list);
    }
    if (tuneUrl) panel.appendChild(el("a", { class: "why-tune", href: tuneUrl }, "Tune your feed"));
    popover(reel, btn, panel, false);
    actions.appendChild(btn);
    actions.appendChild(panel);
  }

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }

  function notInterestedOptions(data) {
    const options = [{ scope: "video", label: "This video" }];
    if (data.author.id !== myId) {
      const name = data.author.username;
      options.push({ scope: "author", username: name, label: "This creator (@" + name + ")" });
    }
    (data.hashtags || []).slice(0, MAX_TAG_OPTIONS).forEach(function (name) {
      options.push({ scope: "hashtag", hashtag: name, label: "#" + name });
    });
    return options;
  }

  function addNotInterested(reel, actions) {
    const btn = button("not-interested", "Not interested", null);
    actions.appendChild(btn);
    if (!signedIn) {
      // Signed out there is nothing to remember the choice by: sign in first.
      btn.addEventListener("click", toLogin);
      return;
    }
    const panel = el("div", { class: "popover not-interested-panel", role: "group" });
    const title = el("p", { class: "popover-title", id: "ni-title-" + reel.data.id }, "Not interested in…");
    panel.setAttribute("aria-labelledby", title.id);
    panel.appendChild(title);
    notInterestedOptions(reel.data).forEach(function (option) {
      const choose = el("button", { type: "button", class: "option", "data-scope": option.scope }, option.label);
      choose.addEventListener("click", function () { notInterested(reel, option, choose); });
      panel.appendChild(choose);
    });
    popover(reel, btn, panel, true);
    actions.appendChild(panel);
  }

  function notInterested(reel, option, choose) {
    choose.disabled = true;
    const body = { video_id: reel.data.id, scope: option.scope };
    if (option.hashtag) body.hashtag = option.hashtag;
    fetch(NOT_INTERESTED_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body),
    }).then(function (r) {
      if (r.status === 401 || r.status === 403) { toLogin(); return null; }
      return r.status === 201 ? r.json() : Promise.reject(new Error(String(r.status)));
    }).then(function (choice) {
      if (!choice) return;
      closePopover(false);
      choices.push(choice);
      hideMatching(choice);
      offerUndo(choice, reel, option);
    }).catch(function () { say("That did not work; try again."); })
      .finally(function () { choose.disabled = false; });
  }

  function matches(reel, choice) {
    if (choice.scope === "video") return reel.data.id.replace(/-/g, "") === choice.target;
    if (choice.scope === "author") return reel.data.author.id.replace(/-/g, "") === choice.target;
    return (reel.data.hashtags || []).some(function (name) { return name.toLowerCase() === choice.target; });
  }

  function hide(reel, choiceId) {
    reel.hiddenBy.add(choiceId);
    reel.el.hidden = true;
    reel.video.pause();
  }

  // Hide every reel the choice covers; if the one playing goes, the next one still shown plays instead.
  function hideMatching(choice) {
    const wasActive = reels[active];
    reels.forEach(function (reel) { if (matches(reel, choice)) hide(reel, choice.id); });
    renumber();
    if (wasActive && wasActive.el.hidden) {
      stopWatching(wasActive);
      const next = visibleFrom(active + 1, 1).concat(visibleFrom(active - 1, -1));
      if (next.length) go(next[0]);
      else { say("Nothing more here right now."); more(); }
    } else if (wasActive) {
      wasActive.el.scrollIntoView({ block: "start", behavior: "auto" }); // reels above it may have gone
    }
  }

  // The feed pattern's positions count only the reels still shown; a feed role needs articles inside, so a feed
  // with none shown (empty, or every reel turned down) stays a plain container.
  function renumber() {
    const shown = visibleFrom(0, 1);
    shown.forEach(function (i, n) { reels[i].el.setAttribute("aria-posinset", String(n + 1)); });
    if (shown.length) {
      feed.setAttribute("role", "feed");
      feed.setAttribute("aria-label", feed.dataset.label);
    } else {
      feed.removeAttribute("role");
      feed.removeAttribute("aria-label");
    }
  }

  function undoMessage(option) {
    if (option.scope === "video") return "Got it: you won't see this video in For You again.";
    if (option.scope === "author") return "Got it: no more videos by @" + option.username + " in For You.";
    return "Got it: no more videos tagged #" + option.hashtag + " in For You.";
  }

  function offerUndo(choice, origin, option) {
    undo = { choice: choice, origin: origin, landedOn: active };
    undoText.textContent = undoMessage(option);
    undoBox.hidden = false;
    undoButton.focus(); // the control that prompted this is gone with its video
  }

  function hideUndo() {
    undo = null;
    undoBox.hidden = true;
  }

  undoButton.addEventListener("click", function () {
    const state = undo;
    if (!state) return;
    undoButton.disabled = true;
    fetch(NOT_INTERESTED_URL + "/" + encodeURIComponent(state.choice.id), {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf() },
    }).then(function (r) {
      if (r.status !== 204 && r.status !== 404) return Promise.reject(new Error(String(r.status)));
      restore(state.choice.id);
      hideUndo();
      if (visibleFrom(0, 1).length) empty.hidden = true;
      const index = reels.indexOf(state.origin);
      if (!state.origin.el.hidden) {
        go(index);
        const again = state.origin.el.querySelector("button.not-interested");
        if (again) again.focus();
      }
      say("Undone");
    }).catch(function () { say("That did not work; try again."); })
      .finally(function () { undoButton.disabled = false; });
  });

  document.getElementById("feed-undo-close").addEventListener("click", function () {
    hideUndo();
    feed.focus();
  });

  function restore(choiceId) {
    choices = choices.filter(function (c) { return c.id !== choiceId; });
    reels.forEach(function (reel) {
      if (!reel.hiddenBy.delete(choiceId)) return;
      if (reel.hiddenBy.size === 0) reel.el.hidden = false;
    });
    renumber();
  }

  // The "pick a few interests" prompt (new accounts only) can be put away; it stays away on this device.
  const coldStart = document.getElementById("cold-start");
  const COLD_START_KEY = "reelm:cold-start-dismissed";
  if (coldStart) {
    let dismissed = false;
    try { dismissed = window.localStorage.getItem(COLD_START_KEY) === "1"; } catch (_e) { /* storage blocked */ }
    if (dismissed) coldStart.hidden = true;
    const dismiss = document.getElementById("cold-start-dismiss");
    dismiss.hidden = false;
    dismiss.addEventListener("click", function () {
      coldStart.hidden = true;
      try { window.localStorage.setItem(COLD_START_KEY, "1"); } catch (_e) { /* storage blocked */ }
      feed.focus();
    });
  }

  add(first.items, true);
  if (reels.length) activate(0);
})();
