//! SELinux mode and AVC denials for sshd; fail2ban and sshguard ban state.
