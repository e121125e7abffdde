//! (being written: `sshfix runs`)
