"""Social sign-in with OpenID Connect / OAuth2 providers (Kratos' `oidc` method).

    providers/     one module per provider type on a shared base (OpenID Connect, plain OAuth2, X's OAuth1)
    jwks.py        provider signing keys and id_token verification (PyJWT)
    continuity.py  sealed `state` and stored provider tokens (Fernet, keys from secrets.cipher/cookie)
    tokens.py      the provider tokens kept on each linked provider (initial and current, sealed)
    refresh.py     a service refreshing them before expiry when offline_access was granted
    mapper.py      claims -> traits with Jsonnet, as Kratos (`std.extVar('claims')`)
    sync.py        `update_identity_on_login: automatic`: the mapper re-run on each sign-in
    service.py     the redirect, the callback, native id_tokens, registration with missing traits,
                   logout at the provider (RP-initiated)
    linking.py     accounts that exist: link after proving ownership (1010016), settings link/unlink
    errors.py      BrowserLocationChangeRequired, OidcFailed, ProviderUnavailable
The strategy (buttons, submits) is strategies/oidc.py; the callback route http/kratos/oidc.py.
"""
