//! Firewall verdicts common to nftables and iptables: what happens to a new TCP connection from a client to the SSH port, and which rule decides.
