"""The spec: pydantic models, the YAML loader (with line numbers), checks and JSON Schema.

Nothing outside this package imports YAML.
"""

from growsim.spec.errors import SpecError, SpecIssue, format_path
from growsim.spec.loader import LoadedSpec, load_spec, load_spec_text, parse_dotted
from growsim.spec.models import Spec
from growsim.spec.schema import json_schema

__all__ = [
    "LoadedSpec",
    "Spec",
    "SpecError",
    "SpecIssue",
    "format_path",
    "json_schema",
    "load_spec",
    "load_spec_text",
    "parse_dotted",
]
