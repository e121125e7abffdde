//! Kernel state: conntrack count/max and the kernel-log lines that explain dropped connections.
