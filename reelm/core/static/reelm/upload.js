// Upload with a progress bar: send the form to the JSON API with XMLHttpRequest (fetch has no upload progress).
// The caption counts down as it is typed; too long a caption, too big a file or an error from the server is
// shown next to its field (the server still checks everything).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const button = form.querySelector("button[type=submit]");
  const fileInput = document.getElementById("id_file");
  const fileError = document.getElementById("id_file_error");
  const caption = document.getElementById("id_caption");
  const captionError = document.getElementById("id_caption_error");
  const counter = document.getElementById("caption-count");
  const max = counter ? Number(counter.dataset.max) : 2200;

  function grouped(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
  }

  function showError(input, node, text) {
    if (!node) { status.textContent = text; return; }
    node.textContent = text;
    node.hidden = !text;
    if (input) {
      if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
      const row = input.closest(".field");
      if (row) row.classList.toggle("has-error", Boolean(text));
    }
  }

  // Characters as the server counts them (code points; a line break typed in the box is one).
  function captionLength() {
    return caption ? Array.from(caption.value.replace(/\r\n/g, "\n")).length : 0;
  }

  function tooLongMessage(over) {
    return "The caption is " + grouped(over) + " character" + (over === 1 ? "" : "s") + " over the " +
      grouped(max) + "-character limit. Shorten it to upload.";
  }

  let wasOver = false;
  function count() {
    if (!counter) return;
    const left = max - captionLength();
    counter.classList.toggle("over", left < 0);
    counter.textContent = left >= 0
      ? grouped(left) + " left"
      : grouped(-left) + " over the limit";
    const over = left < 0;
    if (over !== wasOver || over) {
      // The message appears as the limit is crossed, goes as soon as the caption fits again.
      showError(caption, captionError, over ? tooLongMessage(-left) : "");
    }
    wasOver = over;
  }

  if (caption) {
    caption.addEventListener("input", count);
    count();
  }
  if (fileInput) {
    fileInput.addEventListener("change", function () { showError(fileInput, fileError, ""); });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    status.textContent = "";
    const data = new FormData(form);
    if (caption) data.set("caption", caption.value.replace(/\r\n/g, "\n")); // line breaks as counted above
    const file = data.get("file");
    const limit = Number(form.dataset.limit) * 1024 * 1024;
    let bad = null;
    if (!file || !file.name) {
      showError(fileInput, fileError, "Choose a video file to upload.");
      bad = fileInput;
    } else if (file.size > limit) {
      showError(fileInput, fileError, "That file is over the " + form.dataset.limit + " MiB limit.");
      bad = fileInput;
    }
    if (captionLength() > max) {
      showError(caption, captionError, tooLongMessage(captionLength() - max));
      bad = bad || caption;
    }
    if (bad) { bad.focus(); return; }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.dataset.api);
    xhr.setRequestHeader("X-CSRFToken", data.get("csrfmiddlewaretoken"));
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = "Uploading… " + bar.value + "%";
      }
    });
    xhr.addEventListener("load", function () {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = null; }
      if (xhr.status === 201 && body) {
        status.textContent = "Uploaded. Processing…";
        window.location.assign(body.urls.page);
      } else {
        const error = body && body.error ? body.error : null;
        const message = error && typeof error.message === "string" ? error.message : "Upload failed (" + xhr.status + ").";
        status.textContent = "";
        if (error && /caption/.test(error.code || "")) showError(caption, captionError, message);
        else showError(fileInput, fileError, message);
        button.disabled = false;
        bar.hidden = true;
      }
    });
    xhr.addEventListener("error", function () {
      showError(fileInput, fileError, "The connection failed; nothing was uploaded. Try again.");
      button.disabled = false;
      bar.hidden = true;
    });
    showError(fileInput, fileError, "");
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.send(data);
  });
})();
