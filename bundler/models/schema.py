"""jsonschema, imported so that an optional format backend costs nothing until a format uses it.

Every JSON Schema reader of the kit imports jsonschema from here (tests/test_quality.py keeps
it so). `jsonschema/_format.py` (4.26.0) imports `rfc3987_syntax` at import time when it is
installed and `rfc3987` is not, to register the `iri` and `iri-reference` format checks; that
module builds ~35 Lark Earley parsers as it loads: ~0.9 s CPU, once per process, for formats
none of the kit's schemas use (python-jsonschema/jsonschema#1428; benchmarks/PROFILE.md,
finding 10 and phase 3). `cyclonedx-python-lib[json-validation]` pulls it in
(`jsonschema[format-nongpl]`), so the dev venv and CI have it.

Before the first import of jsonschema, `rfc3987_syntax` is entered in `sys.modules` as a
`_DeferredModule`: its `is_valid_syntax` (the only name jsonschema takes from it) and every
other attribute load the real module on first use, which then replaces the stand-in. So the
same formats are registered with the same checks (a `FormatChecker` that validates an `iri`
still runs rfc3987_syntax's grammar); only the cost moves to the first check that needs it.
Nothing is deferred when jsonschema is already imported, when `rfc3987` is installed (jsonschema
then never imports `rfc3987_syntax`) or when `rfc3987_syntax` is absent.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import threading
import types
from typing import Any

from bundler.errors import BadInput

DEFERRED = "rfc3987_syntax"
"""The module whose import is deferred until one of its names is used."""


class _DeferredModule(types.ModuleType):
    """Stands in `sys.modules` for module `name` until one of its attributes is used."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._lock = threading.Lock()
        self._real: types.ModuleType | None = None

    def _load(self) -> types.ModuleType:
        with self._lock:
            if self._real is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                try:
                    self._real = importlib.import_module(self.__name__)
                except BaseException:
                    sys.modules.setdefault(self.__name__, self)
                    raise
            return self._real

    def is_valid_syntax(self, *args: Any, **kwargs: Any) -> Any:
        """`rfc3987_syntax.is_valid_syntax`, loading the module on the first call."""
        return self._load().is_valid_syntax(*args, **kwargs)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            # e.g. `__path__`, which `from X import name` probes: the stand-in is no package
            raise AttributeError(attr)
        return getattr(self._load(), attr)


def defer_format_backends() -> None:
    """Enter the stand-in for `DEFERRED` in `sys.modules` if jsonschema would import it now."""
    if "jsonschema" in sys.modules or DEFERRED in sys.modules:
        return
    if importlib.util.find_spec("rfc3987") is not None:
        return
    if importlib.util.find_spec(DEFERRED) is None:
        return
    sys.modules[DEFERRED] = _DeferredModule(DEFERRED)


defer_format_backends()

import jsonschema as jsonschema  # noqa: E402  (after the stand-in, on purpose)
from jsonschema import Draft202012Validator as Draft202012Validator  # noqa: E402
from jsonschema import ValidationError as ValidationError  # noqa: E402
from jsonschema.exceptions import best_match as best_match  # noqa: E402

MESSAGE_LIMIT = 120
"""Characters of a validation message kept in an error line (jsonschema quotes the offending
value, which comes from an untrusted file and may be any size)."""


def validated_json(data: bytes, where: str, schema: dict[str, Any]) -> Any:
    """JSON `data` checked against `schema`: the decoded document, or BadInput naming `where`
    and the field (`not JSON (...)` when it does not parse)."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise BadInput(f"{where}: not JSON ({exc})") from None
    try:
        jsonschema.validate(doc, schema)
    except jsonschema.ValidationError as exc:
        field = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise BadInput(f"{where}: {field}: {exc.message[:MESSAGE_LIMIT]}") from None
    return doc
