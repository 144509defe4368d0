"""The built-in admin UI on the admin listener (/admin/ui): server-rendered, CSRF-protected, no JavaScript."""
