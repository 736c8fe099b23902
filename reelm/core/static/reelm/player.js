// Play a video: HLS through hls.js, native HLS on Safari, the progressive MP4 otherwise.
// While the video is still transcoding, play the lowest rendition as it grows, and poll until it is ready.
(function () {
  "use strict";
  const video = document.getElementById("player");
  const status = document.getElementById("player-status");
  const stateLabel = document.getElementById("video-state");
  let data = JSON.parse(document.getElementById("video-data").textContent);
  let hls = null;
  let playing = null;

  function attach(src, mp4) {
    if (playing === src) return;
    playing = src;
    if (hls) { hls.destroy(); hls = null; }
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ capLevelToPlayerSize: true });
      hls.on(window.Hls.Events.ERROR, function (_event, info) {
        if (info.fatal && mp4) { hls.destroy(); hls = null; video.src = mp4; }
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src;
    } else if (mp4) {
      video.src = mp4;
    }
    video.play().catch(function () { /* autoplay may need a gesture; controls are there */ });
  }

  function render() {
    stateLabel.textContent = data.state.charAt(0).toUpperCase() + data.state.slice(1);
    if (data.state === "ready") {
      status.textContent = "";
      if (data.urls.poster) video.poster = data.urls.poster;
      attach(data.urls.hls, data.urls.mp4);
      return true;
    }
    if (data.state === "failed") {
      status.textContent = "This video could not be processed: " + data.failure_reason;
      return true;
    }
    if (data.urls.hls_live) {
      status.textContent = "Still processing — playing a preview quality.";
      attach(data.urls.hls_live, null);
    } else {
      status.textContent = "Processing…";
    }
    return false;
  }

  function poll() {
    fetch("/api/videos/" + data.id, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (next) {
        if (next) data = next;
        if (!render()) setTimeout(poll, 1500);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }

  if (!render()) setTimeout(poll, 1000);

  // The sound choice is shared with the feed (same key): the video starts muted, as browsers autoplay only then,
  // and a remembered "sound on" comes back with the viewer's first gesture; changing it here is remembered too.
  const SOUND_KEY = "reelm:sound";
  let pending = false;
  try { pending = window.localStorage.getItem(SOUND_KEY) === "on"; } catch (_e) { /* storage blocked */ }
  function restore(event) {
    if (!pending || event.target === video) return; // the video's own controls say what they mean
    if (navigator.userActivation && !navigator.userActivation.isActive) return;
    if (event.type === "keydown" && (event.key === "Escape" || event.key === "Tab")) return;
    pending = false;
    video.muted = false;
  }
  ["pointerup", "touchend", "keydown"].forEach(function (type) { document.addEventListener(type, restore, true); });
  video.addEventListener("volumechange", function () {
    pending = false;
    try { window.localStorage.setItem(SOUND_KEY, video.muted || video.volume === 0 ? "off" : "on"); } catch (_e) { /* storage blocked */ }
  });
})();
