//! haproxy.cfg: sections, binds and modes, and which frontend/listen serves a given port.
