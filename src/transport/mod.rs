//! Transports: one small trait to run scripts and move files on a host, with
//! implementations for each working path (ssh, jump, console-exec, local).
