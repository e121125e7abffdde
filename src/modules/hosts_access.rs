//! Edits of hosts.allow: the narrowest `sshd: <clients>` line that lets every allowed client in, checked with the hosts_access evaluator.
