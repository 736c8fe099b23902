// Upload with a progress bar: send the form to the JSON API with XMLHttpRequest (fetch has no upload progress).
(function () {
  "use strict";
  const form = document.getElementById("upload-form");
  if (!form) return;
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const button = form.querySelector("button[type=submit]");

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const data = new FormData(form);
    const file = data.get("file");
    const limit = Number(form.dataset.limit) * 1024 * 1024;
    if (file && file.size > limit) {
      status.textContent = "That file is over the " + form.dataset.limit + " MiB limit.";
      return;
    }
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
        const message = body && body.error ? body.error.message : "Upload failed (" + xhr.status + ").";
        status.textContent = message;
        button.disabled = false;
        bar.hidden = true;
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The connection failed; nothing was uploaded. Try again.";
      button.disabled = false;
    });
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    xhr.send(data);
  });
})();
