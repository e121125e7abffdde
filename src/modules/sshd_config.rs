//! Edits of sshd_config that take effect: set or comment out keywords where sshd reads them (first/last-value rules, Include order, Match blocks), keeping the file's style.
