"""THE KETO DOMAIN: relation tuples, namespaces (legacy list or Ory Permission Language), the check and expand
engines. It knows neither `identity` nor `access`, imports no web framework, and reaches the database only
through the store's relation-tuple persister (`ports.TupleStore`)."""
