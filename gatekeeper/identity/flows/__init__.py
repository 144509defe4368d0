"""Self-service flows on a shared base: one module per flow type (login, registration, logout)."""
