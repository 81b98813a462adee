"""The privacy context's rules with no I/O: detection, policies, anonymization.

The names below are the domain's public surface; the modules behind them stay
small and private to the context.
"""

from phantom.privacy.domain.custom import CustomPattern
from phantom.privacy.domain.entities import (
    BUILTIN_ENTITIES,
    CREDIT_CARD,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PHONE,
    SECRET,
    UK_NINO,
    US_SSN,
    Finding,
    resolve_overlaps,
)
from phantom.privacy.domain.errors import (
    InvalidKey,
    InvalidPattern,
    InvalidPolicy,
    PseudonymCollision,
)
from phantom.privacy.domain.evaluation import Scores, Span, evaluate
from phantom.privacy.domain.operators import (
    Generalize,
    Hash,
    Mask,
    Operator,
    Pseudonym,
    Pseudonymize,
    Redact,
    Replace,
)
from phantom.privacy.domain.policy import (
    DEFAULT_OPERATORS,
    DEFAULT_POLICY,
    SKIP,
    FieldRule,
    Policy,
    Skip,
)
from phantom.privacy.domain.records import (
    AnonymizedRecord,
    JsonValue,
    analyze_record,
    anonymize_record,
)
from phantom.privacy.domain.text import AnonymizedText, analyze_text, anonymize_text

__all__ = [
    "BUILTIN_ENTITIES",
    "CREDIT_CARD",
    "DEFAULT_OPERATORS",
    "DEFAULT_POLICY",
    "EMAIL",
    "IBAN",
    "IP_ADDRESS",
    "PHONE",
    "SECRET",
    "SKIP",
    "UK_NINO",
    "US_SSN",
    "AnonymizedRecord",
    "AnonymizedText",
    "CustomPattern",
    "FieldRule",
    "Finding",
    "Generalize",
    "Hash",
    "InvalidKey",
    "InvalidPattern",
    "InvalidPolicy",
    "JsonValue",
    "Mask",
    "Operator",
    "Policy",
    "Pseudonym",
    "PseudonymCollision",
    "Pseudonymize",
    "Redact",
    "Replace",
    "Scores",
    "Skip",
    "Span",
    "analyze_record",
    "analyze_text",
    "anonymize_record",
    "anonymize_text",
    "evaluate",
    "resolve_overlaps",
]
