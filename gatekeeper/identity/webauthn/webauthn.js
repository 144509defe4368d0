/* gatekeeper's WebAuthn helpers for Kratos-style flow forms: the same global functions Kratos' webauthn.js
 * defines (the `onclickTrigger` / `onloadTrigger` names of the flow's UI nodes), written for gatekeeper.
 * Each reads the options from the form, asks the browser's authenticator, puts the answer (JSON, binary
 * fields base64url) into the form's hidden input and submits the form. */
(function () {
  "use strict";
  if (typeof window === "undefined" || window.__oryWebAuthnInitialized) {
    return;
  }

  var b64 = {
    decode: function (text) {
      var plain = text.replace(/-/g, "+").replace(/_/g, "/");
      var raw = atob(plain + "===".slice((plain.length + 3) % 4));
      var out = new Uint8Array(raw.length);
      for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
      return out;
    },
    encode: function (buffer) {
      var bytes = new Uint8Array(buffer), raw = "";
      for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
      return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    },
  };

  function field(name) {
    return document.getElementsByName(name)[0];
  }

  function withIds(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: b64.decode(item.id) });
    });
  }

  function creationOptions(publicKey) {
    publicKey.challenge = b64.decode(publicKey.challenge);
    publicKey.user.id = b64.decode(publicKey.user.id);
    publicKey.excludeCredentials = withIds(publicKey.excludeCredentials);
    return publicKey;
  }

  function requestOptions(publicKey) {
    publicKey.challenge = b64.decode(publicKey.challenge);
    publicKey.allowCredentials = withIds(publicKey.allowCredentials);
    return publicKey;
  }

  function attestation(credential) {
    return JSON.stringify({
      id: credential.id, rawId: b64.encode(credential.rawId), type: credential.type,
      response: {
        attestationObject: b64.encode(credential.response.attestationObject),
        clientDataJSON: b64.encode(credential.response.clientDataJSON),
      },
    });
  }

  function assertion(credential) {
    var r = credential.response;
    return JSON.stringify({
      id: credential.id, rawId: b64.encode(credential.rawId), type: credential.type,
      response: {
        authenticatorData: b64.encode(r.authenticatorData),
        clientDataJSON: b64.encode(r.clientDataJSON),
        signature: b64.encode(r.signature),
        userHandle: r.userHandle ? b64.encode(r.userHandle) : "",
      },
    });
  }

  function submitWith(input, value) {
    input.value = value;
    var form = input.closest("form");
    if (form) form.submit();
  }

  function supported() {
    if (!window.PublicKeyCredential) {
      console.log("This browser does not support WebAuthn.");
      return false;
    }
    return true;
  }

  function stopAutofill() {
    if (window.abortPasskeyConditionalUI) {
      window.abortPasskeyConditionalUI.abort("a passkey sign-in was started with the button");
      window.abortPasskeyConditionalUI = undefined;
    }
  }

  /* Security keys (the `webauthn` method): options passed in, or read from the trigger's value. */
  function webAuthnLogin(options, resultSelector, triggerSelector) {
    if (!supported()) return;
    var trigger = document.querySelector(triggerSelector || '*[name="webauthn_login_trigger"]');
    var opts = options || JSON.parse(trigger.value);
    navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (credential) {
      submitWith(document.querySelector(resultSelector || '*[name="webauthn_login"]'), assertion(credential));
    }).catch(function (err) { alert(err); });
  }

  function webAuthnRegistration(options, resultSelector, triggerSelector) {
    if (!supported()) return;
    var trigger = document.querySelector(triggerSelector || '*[name="webauthn_register_trigger"]');
    var opts = options || JSON.parse(trigger.value);
    navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) }).then(function (credential) {
      submitWith(document.querySelector(resultSelector || '*[name="webauthn_register"]'), attestation(credential));
    }).catch(function (err) { alert(err); });
  }

  /* Passkeys: conditional UI (autofill on the identifier input), the sign-in button, sign-up, settings. */
  async function passkeyLoginAutocompleteInit() {
    var data = field("passkey_challenge"), result = field("passkey_login"), identifier = field("identifier");
    if (!data || !result || !identifier) {
      console.error("passkey autofill needs the passkey_challenge, passkey_login and identifier inputs");
      return;
    }
    if (!supported() || !PublicKeyCredential.isConditionalMediationAvailable ||
        !(await PublicKeyCredential.isConditionalMediationAvailable())) {
      return;
    }
    stopAutofill();
    window.abortPasskeyConditionalUI = new AbortController();
    var opts = JSON.parse(data.value);
    navigator.credentials.get({
      publicKey: requestOptions(opts.publicKey), mediation: "conditional",
      signal: window.abortPasskeyConditionalUI.signal,
    }).then(function (credential) {
      submitWith(result, assertion(credential));
    }).catch(function (err) { console.log(err); });
  }

  function passkeyLogin() {
    var data = field("passkey_challenge"), result = field("passkey_login");
    if (!data || !result || !supported()) return;
    stopAutofill();
    var opts = JSON.parse(data.value);
    navigator.credentials.get({ publicKey: requestOptions(opts.publicKey) }).then(function (credential) {
      submitWith(result, assertion(credential));
    }).catch(function (err) {
      console.error("passkey sign-in failed", err);
      return passkeyLoginAutocompleteInit();  /* offer the autofill again */
    });
  }

  function passkeyRegistration() {
    var data = field("passkey_create_data"), result = field("passkey_register");
    if (!data || !result || !supported()) return;
    var created = JSON.parse(data.value);
    var publicKey = created.credentialOptions.publicKey;
    var name = data.closest("form").querySelector('[name="' + created.displayNameFieldName + '"]');
    if (name && name.value) {
      publicKey.user.name = name.value;
      publicKey.user.displayName = name.value;
    }
    navigator.credentials.create({ publicKey: creationOptions(publicKey) }).then(function (credential) {
      submitWith(result, attestation(credential));
    }).catch(function (err) { console.error(err); });
  }

  function passkeySettingsRegistration() {
    var data = field("passkey_create_data"), result = field("passkey_settings_register");
    if (!data || !result || !supported()) return;
    var opts = JSON.parse(data.value);
    navigator.credentials.create({ publicKey: creationOptions(opts.publicKey) }).then(function (credential) {
      submitWith(result, attestation(credential));
    }).catch(function (err) { console.error(err); });
  }

  var api = {
    WebAuthnLogin: webAuthnLogin,
    WebAuthnRegistration: webAuthnRegistration,
    PasskeyLogin: passkeyLogin,
    PasskeyLoginAutocompleteInit: passkeyLoginAutocompleteInit,
    PasskeyRegistration: passkeyRegistration,
    PasskeySettingsRegistration: passkeySettingsRegistration,
  };
  Object.keys(api).forEach(function (name) {
    window["ory" + name] = api[name];
    window["__ory" + name] = api[name];  /* the older names Ory Elements v0 calls */
  });
  window.__oryWebAuthnInitialized = true;
  window.dispatchEvent(new CustomEvent("oryWebAuthnInitialized"));
})();
