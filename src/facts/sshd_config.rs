//! sshd_config as sshd reads it: `Include` globs, `Match` blocks, `Key=value`, case, quoting and CRLF, keeping the file and line of every directive.
