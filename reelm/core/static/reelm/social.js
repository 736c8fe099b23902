// Social actions on server-rendered pages: like, bookmark and share a video; post, reply to, like, delete and
// pin comments; follow an account; approve or decline follow requests. Everything goes through the JSON API
// with the CSRF token; the pages work (read-only) without this script. User text is only set with textContent.
(function () {
  "use strict";

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // User text with its #hashtags and @mentions as links (the feed's URL shapes); text only ever as text nodes.
  const TOKEN_RE = /(?<![\p{L}\p{N}_&#])#([\p{L}\p{N}_]{1,100})|(?<![\p{L}\p{N}_@])@([A-Za-z0-9_.]{2,30})/gu;
  function linked(tag, attrs, text) {
    const node = el(tag, attrs);
    let at = 0;
    let match;
    TOKEN_RE.lastIndex = 0;
    while ((match = TOKEN_RE.exec(text)) !== null) {
      if (match.index > at) node.appendChild(document.createTextNode(text.slice(at, match.index)));
      if (match[1] !== undefined && !/^\d+$/.test(match[1])) {
        node.appendChild(el("a", { class: "tag", href: "/tag/" + encodeURIComponent(match[1].toLowerCase()) }, match[0]));
      } else if (match[2] !== undefined && match[2].replace(/\.+$/, "").length >= 2) {
        const name = match[2].replace(/\.+$/, "");
        node.appendChild(el("a", { class: "mention", href: "/@" + encodeURIComponent(name.toLowerCase()) }, "@" + name));
        if (name.length < match[2].length) node.appendChild(document.createTextNode(match[2].slice(name.length)));
      } else {
        node.appendChild(document.createTextNode(match[0]));
      }
      at = match.index + match[0].length;
    }
    if (at < text.length) node.appendChild(document.createTextNode(text.slice(at)));
    return node;
  }

  function csrf() {
    const found = document.cookie.split(";").map(function (c) { return c.trim(); })
      .find(function (c) { return c.startsWith("csrftoken="); });
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }

  function toLogin() {
    window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname);
  }

  // Calls the API; resolves with the parsed body (null for 204), rejects with the API's message.
  function api(method, path, body) {
    const headers = { "X-CSRFToken": csrf() };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch("/api" + path, {
      method: method,
      credentials: "same-origin",
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (r) {
      if (r.status === 401) { toLogin(); return Promise.reject(new Error("Please log in.")); }
      if (r.status === 204) return null;
      return r.json().catch(function () { return {}; }).then(function (out) {
        if (r.ok) return out;
        const detail = out && out.error && out.error.message;
        return Promise.reject(new Error(typeof detail === "string" ? detail : "That did not work; try again."));
      });
    });
  }

  function sayer(node) {
    return function (text) {
      if (!node) return;
      node.textContent = text;
      if (text) setTimeout(function () { if (node.textContent === text) node.textContent = ""; }, 3000);
    };
  }

  // --- video: like, bookmark, share ----------------------------------------------------------------------
  const actions = document.getElementById("video-actions");
  if (actions) {
    const videoId = actions.dataset.video;
    const signedIn = actions.dataset.signedIn === "1";
    const say = sayer(document.getElementById("action-status"));
    actions.querySelectorAll("button[data-kind]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        if (!signedIn) { toLogin(); return; }
        const on = btn.getAttribute("aria-pressed") !== "true";
        btn.disabled = true;
        api(on ? "PUT" : "DELETE", "/videos/" + videoId + "/" + btn.dataset.kind)
          .then(function (out) {
            btn.setAttribute("aria-pressed", out.active ? "true" : "false");
            btn.querySelector(".count").textContent = String(out.count);
          })
          .catch(function (err) { say(err.message); })
          .finally(function () { btn.disabled = false; });
      });
    });
    const share = document.getElementById("share-button");
    const shareUrl = document.getElementById("share-url");
    share.addEventListener("click", function () {
      const url = shareUrl.value;
      const shown = function () { shareUrl.hidden = false; shareUrl.select(); };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(url).then(function () { say("Link copied."); }, function () {
          shown(); say("Copy the link below.");
        });
      } else {
        shown(); say("Copy the link below.");
      }
    });
  }

  // --- video: a long caption is folded to a few lines, with "more" to unfold it ------------------------------
  const more = document.getElementById("caption-more");
  const folded = document.getElementById("video-caption");
  if (more && folded) {
    folded.classList.add("clamp"); // folded only where the script can unfold it
    more.hidden = false;
    more.addEventListener("click", function () {
      const open = more.getAttribute("aria-expanded") !== "true";
      folded.classList.toggle("clamp", !open);
      more.setAttribute("aria-expanded", open ? "true" : "false");
      more.textContent = open ? "less" : "more";
    });
  }

  // --- video: comments -----------------------------------------------------------------------------------
  const section = document.getElementById("comments");
  if (section) {
    const videoId = section.dataset.video;
    const me = section.dataset.me;
    const owner = section.dataset.videoOwner;
    const list = document.getElementById("comment-list");
    const form = document.getElementById("comment-form");
    const countNode = document.getElementById("comment-count");
    const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
    section.insertBefore(status, list);
    const say = sayer(status);

    function bump(delta) {
      if (countNode) countNode.textContent = String(Math.max(0, Number(countNode.textContent) + delta));
    }

    function commentBody(c) {
      const frag = document.createDocumentFragment();
      const head = el("p", { class: "comment-head" });
      head.appendChild(el("a", { href: "/@" + encodeURIComponent(c.author.username) }, "@" + c.author.username));
      head.appendChild(document.createTextNode(" "));
      const badge = el("span", { class: "pin-badge" }, "Pinned");
      badge.hidden = !c.pinned;
      head.appendChild(badge);
      head.appendChild(document.createTextNode(" "));
      head.appendChild(el("time", { datetime: c.created_at }, "just now"));
      frag.appendChild(head);
      frag.appendChild(linked("p", { class: "comment-body user-text" }, c.body));
      const acts = el("p", { class: "comment-actions" });
      const like = el("button", { type: "button", class: "link c-like", "aria-pressed": c.liked ? "true" : "false" });
      like.appendChild(el("span", { "aria-hidden": "true" }, "\u2665"));
      like.appendChild(el("span", { class: "visually-hidden" }, "Like comment"));
      like.appendChild(document.createTextNode(" "));
      like.appendChild(el("span", { class: "count" }, String(c.like_count)));
      acts.appendChild(like);
      frag.appendChild(acts);
      return frag;
    }

    function commentNode(c) {
      const top = !c.parent_id;
      const li = el("li", { class: "comment" + (top ? "" : " reply"), id: "c-" + c.id, "data-id": c.id,
        "data-author": c.author.username });
      if (top) li.setAttribute("data-top", "1");
      li.appendChild(commentBody(c));
      if (top) li.appendChild(el("ol", { class: "replies" }));
      decorate(li);
      return li;
    }

    // Adds the buttons this viewer may use to a comment rendered by the server or by commentNode.
    function decorate(li) {
      const acts = li.querySelector(":scope > .comment-actions");
      if (!me || !acts) return;
      const top = li.dataset.top === "1";
      if (top) acts.appendChild(el("button", { type: "button", class: "link c-reply" }, "Reply"));
      if (top && me === owner) {
        acts.appendChild(el("button", { type: "button", class: "link c-pin" },
          li.classList.contains("pinned") ? "Unpin" : "Pin"));
      }
      if (me === li.dataset.author || me === owner) {
        acts.appendChild(el("button", { type: "button", class: "link c-delete" }, "Delete"));
      }
    }

    function setPinned(li, pinned) {
      li.classList.toggle("pinned", pinned);
      const badge = li.querySelector(":scope > .comment-head .pin-badge");
      if (badge) badge.hidden = !pinned;
      const pin = li.querySelector(":scope > .comment-actions .c-pin");
      if (pin) pin.textContent = pinned ? "Unpin" : "Pin";
    }

    function post(body, parentId) {
      const payload = { body: body };
      if (parentId) payload.parent_id = parentId;
      return api("POST", "/videos/" + videoId + "/comments", payload);
    }

    list.querySelectorAll("li.comment").forEach(decorate);

    if (form) {
      const text = document.getElementById("comment-body");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        const body = text.value.trim();
        if (!body) return;
        const submit = form.querySelector("button[type=submit]");
        submit.disabled = true;
        post(body).then(function (c) {
          const empty = document.getElementById("no-comments");
          if (empty) empty.remove();
          const pinned = list.querySelector(":scope > li.pinned");
          list.insertBefore(commentNode(c), pinned ? pinned.nextSibling : list.firstChild);
          text.value = "";
          bump(1);
          say("Comment posted.");
        }).catch(function (err) { say(err.message); })
          .finally(function () { submit.disabled = false; });
      });
    }

    function replyForm(li) {
      const existing = li.querySelector(":scope > form.reply-form");
      if (existing) { existing.querySelector("textarea").focus(); return; }
      const f = el("form", { class: "comment-form reply-form" });
      const area = el("textarea", { maxlength: "1000", rows: "2", required: "", "aria-label": "Reply to @" + li.dataset.author,
        placeholder: "Reply to @" + li.dataset.author + "…" });
      f.appendChild(area);
      f.appendChild(el("button", { type: "submit" }, "Reply"));
      li.insertBefore(f, li.querySelector(":scope > .replies"));
      area.focus();
      f.addEventListener("submit", function (event) {
        event.preventDefault();
        const body = area.value.trim();
        if (!body) return;
        post(body, li.dataset.id).then(function (c) {
          li.querySelector(":scope > .replies").appendChild(commentNode(c));
          f.remove();
          bump(1);
          say("Reply posted.");
        }).catch(function (err) { say(err.message); });
      });
    }

    list.addEventListener("click", function (event) {
      const btn = event.target.closest("button");
      if (!btn || !list.contains(btn)) return;
      const li = btn.closest("li.comment");
      const id = li.dataset.id;
      if (btn.classList.contains("c-like")) {
        if (!me) { toLogin(); return; }
        const on = btn.getAttribute("aria-pressed") !== "true";
        btn.disabled = true;
        api(on ? "PUT" : "DELETE", "/comments/" + id + "/like").then(function (out) {
          btn.setAttribute("aria-pressed", out.active ? "true" : "false");
          btn.querySelector(".count").textContent = String(out.count);
        }).catch(function (err) { say(err.message); }).finally(function () { btn.disabled = false; });
      } else if (btn.classList.contains("c-reply")) {
        replyForm(li);
      } else if (btn.classList.contains("c-delete")) {
        if (!window.confirm("Delete this comment" + (li.dataset.top ? " and its replies?" : "?"))) return;
        api("DELETE", "/comments/" + id).then(function () {
          bump(-1 - li.querySelectorAll("li.comment").length);
          li.remove();
          say("Comment deleted.");
        }).catch(function (err) { say(err.message); });
      } else if (btn.classList.contains("c-pin")) {
        const pin = !li.classList.contains("pinned");
        api(pin ? "PUT" : "DELETE", "/comments/" + id + "/pin").then(function (out) {
          list.querySelectorAll(":scope > li.pinned").forEach(function (other) { setPinned(other, false); });
          setPinned(li, out.pinned);
          if (out.pinned) list.insertBefore(li, list.firstChild);
          say(out.pinned ? "Comment pinned." : "Comment unpinned.");
        }).catch(function (err) { say(err.message); });
      }
    });
  }

  // --- profile: follow -----------------------------------------------------------------------------------
  const follow = document.getElementById("follow-button");
  if (follow) {
    const say = sayer(document.getElementById("follow-status"));
    const followers = document.getElementById("follower-count");
    const LABELS = { none: "Follow", pending: "Requested", accepted: "Unfollow" };
    const render = function (state) {
      follow.dataset.status = state;
      follow.textContent = LABELS[state];
      follow.setAttribute("aria-pressed", state === "none" ? "false" : "true");
    };
    render(follow.dataset.status);
    follow.addEventListener("click", function () {
      const before = follow.dataset.status;
      const path = "/users/" + encodeURIComponent(follow.dataset.username) + "/follow";
      follow.disabled = true;
      const done = before === "none"
        ? api("POST", path).then(function (out) { return out.status; })
        : api("DELETE", path).then(function () { return "none"; });
      done.then(function (state) {
        if (followers) {
          const delta = (state === "accepted" ? 1 : 0) - (before === "accepted" ? 1 : 0);
          followers.textContent = String(Math.max(0, Number(followers.textContent) + delta));
          const label = document.getElementById("follower-label");
          if (label) label.textContent = Number(followers.textContent) === 1 ? label.dataset.one : label.dataset.other;
        }
        render(state);
        say(state === "pending" ? "Request sent." : "");
      }).catch(function (err) { say(err.message); }).finally(function () { follow.disabled = false; });
    });
  }

  // --- follower and following lists: a follow button per account -----------------------------------------------
  const people = document.getElementById("people");
  if (people) {
    const say = sayer(document.getElementById("people-status"));
    const LABELS = { none: "Follow", pending: "Requested", accepted: "Unfollow" };
    people.addEventListener("click", function (event) {
      const btn = event.target.closest("button.follow-toggle");
      if (!btn) return;
      const before = btn.dataset.status;
      const path = "/users/" + encodeURIComponent(btn.dataset.username) + "/follow";
      btn.disabled = true;
      const done = before === "none"
        ? api("POST", path).then(function (out) { return out.status; })
        : api("DELETE", path).then(function () { return "none"; });
      done.then(function (state) {
        btn.dataset.status = state;
        btn.textContent = LABELS[state];
        btn.setAttribute("aria-label", LABELS[state] + " @" + btn.dataset.username);
        say(state === "pending" ? "Request sent." : "");
      }).catch(function (err) { say(err.message); }).finally(function () { btn.disabled = false; });
    });
  }

  // --- settings: follow requests -------------------------------------------------------------------------
  const requests = document.getElementById("request-list");
  if (requests) {
    const say = sayer(document.getElementById("request-status"));
    requests.addEventListener("click", function (event) {
      const btn = event.target.closest("button");
      if (!btn) return;
      const li = btn.closest("li");
      const verb = btn.classList.contains("r-approve") ? "approve" : "decline";
      btn.disabled = true;
      api("POST", "/me/follow-requests/" + li.dataset.id + "/" + verb).then(function () {
        li.remove();
        say(verb === "approve" ? "Request approved." : "Request declined.");
        if (!requests.querySelector("li")) requests.appendChild(el("li", { class: "empty" }, "No pending requests."));
      }).catch(function (err) { btn.disabled = false; say(err.message); });
    });
  }

  // --- comments in a panel beside a player elsewhere (the feed), one video at a time ----------------------------
  // ReelmComments.panel({list, form, text, status, signedIn}) wires the panel once; its show(videoId, onPosted)
  // loads that video's top-level comments (pinned first, then newest) and posts new ones to it.
  window.ReelmComments = {
    panel: function (opts) {
      const list = opts.list;
      const form = opts.form;
      const say = sayer(opts.status);
      let videoId = null;
      let onPosted = null;
      let loads = 0;

      function ago(iso) {
        const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
        if (!isFinite(seconds) || seconds < 60) return "just now";
        if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
        if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
        if (seconds < 86400 * 30) return Math.floor(seconds / 86400) + " d ago";
        return new Date(iso).toLocaleDateString();
      }

      function node(c) {
        const li = el("li", { class: "comment" + (c.pinned ? " pinned" : ""), "data-id": c.id });
        const head = el("p", { class: "comment-head" });
        head.appendChild(el("a", { href: "/@" + encodeURIComponent(c.author.username) }, "@" + c.author.username));
        if (c.pinned) {
          head.appendChild(document.createTextNode(" "));
          head.appendChild(el("span", { class: "pin-badge" }, "Pinned"));
        }
        head.appendChild(document.createTextNode(" "));
        head.appendChild(el("time", { datetime: c.created_at }, ago(c.created_at)));
        li.appendChild(head);
        li.appendChild(linked("p", { class: "comment-body user-text" }, c.body));
        const acts = el("p", { class: "comment-actions" });
        const like = el("button", { type: "button", class: "link c-like", "aria-pressed": c.liked ? "true" : "false" });
        like.appendChild(el("span", { "aria-hidden": "true" }, "\u2665"));
        like.appendChild(el("span", { class: "visually-hidden" }, "Like comment"));
        like.appendChild(document.createTextNode(" "));
        like.appendChild(el("span", { class: "count" }, String(c.like_count)));
        acts.appendChild(like);
        if (c.reply_count) acts.appendChild(el("span", { class: "reply-count" }, c.reply_count + (c.reply_count === 1 ? " reply" : " replies")));
        li.appendChild(acts);
        return li;
      }

      function show(id, posted) {
        videoId = id;
        onPosted = posted || null;
        const load = ++loads;
        list.textContent = "";
        list.setAttribute("aria-busy", "true");
        return api("GET", "/videos/" + encodeURIComponent(id) + "/comments").then(function (page) {
          if (load !== loads) return;
          if (!page.items.length) list.appendChild(el("li", { class: "empty" }, "No comments yet."));
          page.items.forEach(function (c) { list.appendChild(node(c)); });
        }).catch(function (err) { if (load === loads) say(err.message); })
          .finally(function () { if (load === loads) list.removeAttribute("aria-busy"); });
      }

      list.addEventListener("click", function (event) {
        const btn = event.target.closest("button.c-like");
        if (!btn || !list.contains(btn)) return;
        if (!opts.signedIn) { toLogin(); return; }
        const on = btn.getAttribute("aria-pressed") !== "true";
        btn.disabled = true;
        api(on ? "PUT" : "DELETE", "/comments/" + btn.closest("li.comment").dataset.id + "/like").then(function (out) {
          btn.setAttribute("aria-pressed", out.active ? "true" : "false");
          btn.querySelector(".count").textContent = String(out.count);
        }).catch(function (err) { say(err.message); }).finally(function () { btn.disabled = false; });
      });

      if (form) {
        const text = opts.text;
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          const body = text.value.trim();
          if (!body || !videoId) return;
          const submit = form.querySelector("button[type=submit]");
          const target = videoId;
          submit.disabled = true;
          api("POST", "/videos/" + encodeURIComponent(target) + "/comments", { body: body }).then(function (c) {
            if (target !== videoId) return;
            const none = list.querySelector(":scope > li.empty");
            if (none) none.remove();
            const pinned = list.querySelector(":scope > li.pinned");
            list.insertBefore(node(c), pinned ? pinned.nextSibling : list.firstChild);
            text.value = "";
            if (onPosted) onPosted(1);
            say("Comment posted.");
          }).catch(function (err) { say(err.message); })
            .finally(function () { submit.disabled = false; });
        });
      }

      return { show: show };
    },
  };

  // --- forms that destroy something ask first ---------------------------------------------------------------
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
