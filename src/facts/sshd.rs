//! Output of the sshd binary itself: `sshd -T` (the effective configuration) and the errors of `sshd -t` (file:line when it names one).
