//! Checks: the catalogue of causes as playbooks (YAML with Jinja `when:`), evaluated over a host's facts into findings.
