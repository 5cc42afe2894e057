// Optional live preview on the description step: the page works the same without it.
(function () {
  var box = document.getElementById("preview");
  var field = document.getElementById("description");
  if (!box || !field || !window.fetch) return;
  var text = document.getElementById("preview-text");
  var token = field.form.querySelector("input[name=csrf_token]");
  var timer = null;
  // Answers can arrive out of order: only the one for the latest text may touch the preview.
  var latest = 0;
  function show() {
    var request = ++latest;
    if (field.value.trim().length < 40) { box.hidden = true; return; }
    var body = new FormData();
    body.append("description", field.value);
    if (token) body.append("csrf_token", token.value);
    fetch(box.dataset.url, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (r) {
        if (request !== latest) return;
        box.hidden = false;
        if (r.error) { text.textContent = r.error; return; }
        if (r.unreadable) {
          text.textContent = "The classifier cannot read this (" + r.unreadable + "): a reviewer will decide.";
          return;
        }
        text.textContent = "Domains: " + (r.domains.join(", ") || "none") + ". Audience: " + r.audience +
          ". Decides about individuals: " + (r.decisions_about_individuals ? "yes" : "no") +
          ". Chatbot: " + (r.chatbot ? "yes" : "no") + ". Minors: " + (r.minors ? "yes" : "no") +
          ". Prohibited: " + (r.prohibited || "none") + "." +
          (r.uncertain.length ? " Unsure about: " + r.uncertain.join(", ") + "." : "");
      })
      .catch(function () { if (request === latest) box.hidden = true; });
  }
  field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(show, 700); });
})();
