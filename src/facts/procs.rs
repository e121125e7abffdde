//! The process table as the facts script prints it: sshd listener title (`[listener] N of A-B startups`), inetd/xinetd/haproxy/fail2ban processes.
