//! Listening sockets from `ss -Htlnp` (or `netstat -tlnp`): who owns which TCP port.
