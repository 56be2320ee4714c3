"""Pure FHIR R4 knowledge: definitions, validation, bundles, errors. No I/O."""

# The API lives in the subpackages (definitions, validation, errors, types...); importing them
# binds their names here, so the package declares an empty public surface of its own.
__all__: list[str] = []
