//! sshd log lines (journal, auth.log, `sshd -E` file): classify the messages that explain identification-exchange failures.
