"""bundler.policy.licenses: License-Expression, then License, then classifiers, as SPDX."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bundler.models.metadata import parse_metadata
from bundler.policy.licenses import MAX_TEXT, package_license, spdx_expression
from bundler.policy.tables import load_json

MIT = "License :: OSI Approved :: MIT License"
BSD = "License :: OSI Approved :: BSD License"  # names no single license: no SPDX id
APACHE = "License :: OSI Approved :: Apache Software License"
ISC = "License :: OSI Approved :: ISC License (ISCL)"
PSF = "License :: OSI Approved :: Python Software Foundation License"
NONE_DECLARED = "(no license expression declared)"


@pytest.mark.parametrize(
    ("expression", "text", "classifiers", "expected"),
    [
        ("Apache-2.0 OR BSD-3-Clause", "see LICENSE", [APACHE, BSD], "Apache-2.0 OR BSD-3-Clause"),
        ("apache-2.0 or bsd-3-clause", None, [], "Apache-2.0 OR BSD-3-Clause"),
        (None, "mit", [BSD], "MIT"),  # a valid SPDX License field wins over classifiers
        (None, "BSD", [MIT], "MIT"),  # free text loses to a classifier with an SPDX id
        (None, None, [MIT, ISC], f"classifiers: ISC, MIT {NONE_DECLARED}"),  # no OR invented
        (None, None, [MIT, PSF], f"classifiers: MIT, PSF-2.0 {NONE_DECLARED}"),  # keyring 23.4.1
        (None, None, [MIT, BSD], f"classifiers: BSD License, MIT {NONE_DECLARED}"),  # none dropped
        (
            None,
            None,
            [BSD, APACHE],
            f"classifiers: Apache Software License, BSD License {NONE_DECLARED}",
        ),
        (None, "see LICENSE", [MIT, PSF], "see LICENSE"),  # the text as written
        (None, "BSD", [BSD], "BSD"),  # nothing maps: the text as written
        (None, "UNKNOWN", [APACHE], "Apache Software License"),
        (None, None, [], None),
        (None, "x" * 500, [], "x" * (MAX_TEXT - 3) + "..."),
    ],
)
def test_license_order_and_normalisation(
    expression: str | None, text: str | None, classifiers: list[str], expected: str | None
) -> None:
    assert package_license(expression, text, classifiers) == expected


def test_cryptography_metadata_gives_its_expression() -> None:
    body = (
        b"Metadata-Version: 2.4\nName: cryptography\nVersion: 44.0.0\n"
        b"Classifier: License :: OSI Approved :: Apache Software License\n"
        b"Classifier: License :: OSI Approved :: BSD License\n"
        b"License-Expression: Apache-2.0 OR BSD-3-Clause\n\n"
    )
    assert parse_metadata(body, "x").spdx_license == "Apache-2.0 OR BSD-3-Clause"


def test_several_classifiers_are_unknown_to_the_gate_not_a_choice() -> None:
    """keyring 23.4.1 (MIT and PSF classifiers): with PSF-2.0 denied, `MIT OR PSF-2.0` would
    pass as a choice; the list is no SPDX expression, so the gate says unknown."""
    from bundler.gate.licenses import Verdict, judge
    from bundler.gate.policy import LicenseRules

    text = package_license(None, None, [MIT, PSF])
    rules = LicenseRules(allow=(), deny=("PSF-2.0",))
    assert judge("keyring", "23.4.1", text, rules).verdict == Verdict.UNKNOWN
    assert judge("keyring", "23.4.1", "MIT OR PSF-2.0", rules).verdict == Verdict.ALLOWED


def test_every_mapped_classifier_gives_a_valid_spdx_id() -> None:
    for classifier, spdx in load_json("licenses.json")["classifiers"].items():
        assert classifier.startswith("License :: ")
        assert spdx_expression(spdx) == spdx, classifier


@given(st.text(max_size=300))
def test_any_license_text_gives_one_short_line_or_none(text: str) -> None:
    result = package_license(None, text, [])
    assert result is None or ("\n" not in result and len(result) <= max(MAX_TEXT, len(text)))


def test_license_refs_in_metadata_are_spdx_expressions() -> None:
    """PEP 639 License-Expression may name SPDX custom references (SPDX 2.3 Annex D.2)."""
    assert package_license("mit AND licenseref-Proprietary", None) == (
        "MIT AND LicenseRef-Proprietary"
    )
    assert package_license(None, "DocumentRef-x:LicenseRef-y") == "DocumentRef-x:LicenseRef-y"
    assert spdx_expression("LicenseRef-") is None and spdx_expression("LicenseRef-a_b") is None
