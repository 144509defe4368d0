"""WebAuthn for the passkey and webauthn methods: the relying party (options and verification with py_webauthn),
the stored credential list in Kratos' shape, and the browser script the flow UIs load."""
