"""Oathkeeper's API (`:4456`): the rules, the JWKS of the id_token mutators, and the decisions endpoint."""
