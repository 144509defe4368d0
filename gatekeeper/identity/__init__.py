"""The Kratos domain: identities, self-service flows and their strategies, sessions, hooks, courier, social
sign-in and the admin service. Framework-free: the HTTP adapters live in `gatekeeper/http/`, the wiring in
`gatekeeper/server/`."""
