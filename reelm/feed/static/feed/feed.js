// The vertical feed: one full-height video at a time. The visible video plays (muted until asked), loops, and
// the next two preload; the others pause. Keys: ArrowDown/j next, ArrowUp/k previous, m sound. More pages load
// from the feed API's next_cursor as the end nears. User text is only ever set with textContent.
// Signed-in viewers report watch events (impression, watch, complete, replay, skip) to /api/events in batches.
(function () {
  "use strict";
  const shell = document.getElementById("feed-shell");
  const feed = document.getElementById("feed");
  const statusLine = document.getElementById("feed-status");
  const empty = document.getElementById("feed-empty");
  const source = shell.dataset.source;
  const signedIn = shell.dataset.signedIn === "1";
  const first = JSON.parse(document.getElementById("feed-data").textContent);
  const TOKEN_RE = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,100})|(?<![\p{L}\p{N}_@])@([A-Za-z0-9_.]{2,30})/gu;

  const reels = []; // {data, el, video, hls, attached, seen}
  let active = -1;
  let muted = true;
  let cursor = first.next_cursor;
  let loading = false;
  let lastWheel = 0;

  const header = document.querySelector("header.top");
  function measure() {
    if (header) document.documentElement.style.setProperty("--top-height", header.offsetHeight + "px");
  }
  measure();
  window.addEventListener("resize", measure);

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
  };

  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "icon");
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

  function react(reel, kind, btn) {
    if (!signedIn) { toLogin(); return; }
    const on = btn.getAttribute("aria-pressed") !== "true";
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
    const video = el("video", { playsinline: "", loop: "", preload: "none", "aria-label": "Video by @" + data.author.username });
    video.muted = true;
    if (data.urls.poster) video.poster = data.urls.poster;
    section.appendChild(video);

    const overlay = el("div", { class: "overlay" });
    overlay.appendChild(el("a", { class: "author", href: data.author.profile_url }, "@" + data.author.username));
    if (data.caption) overlay.appendChild(caption(data.caption));
    section.appendChild(overlay);

    const reel = { data: data, el: section, video: video, hls: null, attached: false, seen: null };
    video.addEventListener("timeupdate", function () { onTime(reel); });
    const actions = el("div", { class: "actions" });
    const like = button("like", "Like", data.like_count, data.liked === true);
    like.addEventListener("click", function () { react(reel, "like", like); });
    const comments = button("comments", "Comments", data.comment_count);
    comments.addEventListener("click", function () { window.location.href = data.urls.page + "#comments"; });
    const shareBtn = button("share", "Share", null);
    shareBtn.addEventListener("click", function () { share(reel); });
    const save = button("bookmark", "Bookmark", data.bookmark_count, data.bookmarked === true);
    save.addEventListener("click", function () { react(reel, "bookmark", save); });
    [like, comments, shareBtn, save].forEach(function (b) { actions.appendChild(b); });
    section.appendChild(actions);

    video.addEventListener("click", function () { go(index); toggleMute(); });
    reels.push(reel);
    feed.appendChild(section);
    observer.observe(section);
    return reel;
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
    active = index;
    startWatching(reels[index]);
    reels.forEach(function (reel, i) {
      if (i >= index - 1 && i <= index + 2) attach(reel); // the one before stays warm, the next two preload
      else if (Math.abs(i - index) > 4) detach(reel);
      reel.el.classList.toggle("active", i === index);
      if (i === index) {
        reel.el.setAttribute("aria-current", "true");
        reel.video.muted = muted;
        reel.video.play().catch(function () { /* autoplay may need a gesture */ });
      } else {
        reel.el.removeAttribute("aria-current");
        reel.video.pause();
      }
    });
    if (index >= reels.length - 3) more();
  }

  function go(index) {
    if (index < 0 || index >= reels.length) return;
    reels[index].el.scrollIntoView({ block: "start", behavior: "auto" });
    activate(index);
  }

  function toggleMute() {
    muted = !muted;
    reels.forEach(function (reel) { reel.video.muted = muted; });
    say(muted ? "Sound off" : "Sound on");
  }

  function more() {
    if (loading || !cursor) return;
    loading = true;
    feed.setAttribute("aria-busy", "true");
    fetch(source + "?cursor=" + encodeURIComponent(cursor), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error(String(r.status))); })
      .then(function (page) { cursor = page.next_cursor; add(page.items); })
      .catch(function () { say("Could not load more videos."); })
      .finally(function () { loading = false; feed.removeAttribute("aria-busy"); });
  }

  function add(items) {
    const seen = new Set(reels.map(function (r) { return r.data.id; }));
    items.forEach(function (item) { if (!seen.has(item.id)) build(item); });
    empty.hidden = reels.length > 0;
    if (reels.length) {
      // A feed role needs articles inside, so an empty feed stays a plain container.
      feed.setAttribute("role", "feed");
      feed.setAttribute("aria-label", feed.dataset.label);
    }
    if (active >= 0) { const keep = active; active = -1; activate(keep); }
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
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === "ArrowDown" || event.key === "j") { event.preventDefault(); go(active + 1); }
    else if (event.key === "ArrowUp" || event.key === "k") { event.preventDefault(); go(active - 1); }
    else if (event.key === "m") { event.preventDefault(); toggleMute(); }
  });

  // One wheel gesture moves one video, however many events it fires.
  feed.addEventListener("wheel", function (event) {
    if (Math.abs(event.deltaY) < 4) return;
    event.preventDefault();
    const now = Date.now();
    if (now - lastWheel < 450) return;
    lastWheel = now;
    go(active + (event.deltaY > 0 ? 1 : -1));
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
      reel.video.play().catch(function () {});
    }
  });

  window.addEventListener("pagehide", function () {
    const reel = reels[active];
    if (reel) stopWatching(reel);
    flush(true);
  });

  add(first.items);
  if (reels.length) activate(0);
})();
