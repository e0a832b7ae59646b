"""The policy gate: what may cross the air gap (licenses, known vulnerabilities, size).

`policy` reads the operator's TOML policy into typed records, `licenses` evaluates SPDX
expressions against it, `osv` reads OSV advisories (an export zip or the batch API) and matches
them to pinned versions, `snapshot` is the findings file carried in the wheelhouse, and
`evaluate` turns a policy, the packages and a snapshot into violations, warnings and accepted
(ignored) findings. Sits between `audit` and `wheelhouse`.
"""
