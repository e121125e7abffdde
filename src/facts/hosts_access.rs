//! hosts_access(5): parse hosts.allow/hosts.deny and decide, as libwrap does, whether a client may reach a daemon (and by which file:line).
