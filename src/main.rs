//! The `sshfix` binary: parse arguments, run the library, map errors to exit codes.

fn main() -> std::process::ExitCode {
    sshfix::cli::main()
}
