//! iptables: parse `iptables-save` / `ip6tables-save` output and evaluate the filter INPUT chain for a new TCP connection.
