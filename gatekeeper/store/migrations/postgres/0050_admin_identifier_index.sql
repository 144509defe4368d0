-- Admin API: look identities up by credential identifier alone (credentials_identifier and
-- preview_credentials_identifier_similar filters; the primary key leads with the type).
-- text_pattern_ops serves both equality and the LIKE 'prefix%' of the similarity preview.
CREATE INDEX identity_credential_identifiers_identifier ON identity_credential_identifiers (identifier text_pattern_ops);
