// Passkeys (WebAuthn), no build step. A button with data-passkey="create" or "get"
// asks its form's data-passkey-options URL for the options (posting the form's fields,
// CSRF token included), lets the browser talk to the authenticator, puts the answer in
// the form's "credential" field and submits the form. The server checks everything.
(function () {
  "use strict";

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) { status.textContent = text; }
  }

  function run(form, kind) {
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      say(form, "This browser cannot use passkeys.");
      return;
    }
    say(form, "Waiting for your passkey…");
    var body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("data-passkey-options"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok || !j) { throw new Error(j.error || "The passkey could not be started; reload the page and try again."); }
        return j;
      });
    }).then(function (opts) {
      var pk = opts.publicKey || opts;
      if (kind === "create") {
        return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(pk) });
      }
      return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(pk) });
    }).then(function (cred) {
      form.querySelector("input[name=credential]").value = JSON.stringify(cred.toJSON());
      form.submit();
    }).catch(function (e) {
      say(form, e && e.name === "NotAllowedError"
        ? "The passkey was not used (cancelled or timed out). Try again."
        : ((e && e.message) || "The passkey did not work. Try again."));
    });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("button[data-passkey]") : null;
    if (!button || !button.form) { return; }
    if (button.form.reportValidity && !button.form.reportValidity()) { return; }
    ev.preventDefault();
    run(button.form, button.getAttribute("data-passkey"));
  });
}());
