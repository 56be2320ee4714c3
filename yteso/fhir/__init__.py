"""Pure FHIR R4 knowledge: definitions, validation, bundles, errors. No I/O."""
