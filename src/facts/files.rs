//! File metadata lines (`stat` output) for host keys, the privilege-separation directory and configuration files.
