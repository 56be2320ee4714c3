"""Validation settings: what the platform checks by default, and the HL7 Java validator's options.

https://hl7.org/fhir/R4/validation.html leaves several choices to the validator; the Java
validator exposes them as settings (``-allow-example-urls``, ``-security-checks``,
``-no-html-in-markdown``, ``validateContains``, ``validateReference``, extension domains). The
platform's defaults accept what real exchanges carry: extensions of implementation guides it does
not hold (VN Core, US Core) are reported as information, not rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The platform's own implementation guide: its extensions are never reported as unknown.
VN_CORE_DOMAIN = "http://fhir.hl7.org.vn/"


@dataclass(frozen=True, slots=True)
class ValidationOptions:
    #: severity of an extension whose definition is not known here (``ignore`` drops it);
    #: the Java validator, without the extension's IG loaded, says ``error``.
    unknown_extension_severity: str = "information"
    #: URL prefixes whose extensions are accepted without a definition.
    allowed_extension_domains: tuple[str, ...] = (VN_CORE_DOMAIN,)
    #: False: example.org/example.com URLs are errors (Java ``-allow-example-urls false``).
    example_urls_allowed: bool = True
    #: True: strings that look like HTML tags are errors (Java ``-security-checks``).
    security_checks: bool = False
    #: True: HTML tags inside markdown are errors (Java ``-no-html-in-markdown``).
    no_html_in_markdown: bool = False
    #: False: contained resources are not validated (Java ``validateContains=IGNORE``).
    validate_contained: bool = True
    #: False: resources marked ``experimental`` are errors (Java ``no-experimental-content``).
    experimental_allowed: bool = True
    #: True: relative references inside a Bundle or Parameters must resolve to one of its
    #: resources (Java ``validateReference=CHECK_EXISTS_AND_TYPE`` without a server to ask).
    resolve_local_references: bool = False


PLATFORM_OPTIONS = ValidationOptions()

__all__ = ["PLATFORM_OPTIONS", "VN_CORE_DOMAIN", "ValidationOptions"]
