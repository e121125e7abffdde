//! `scripts/demo.sh` (needs root and a lab, so not run here): the command it
//! shows before each step is exactly the one it runs. Its `sshfix_shown`
//! helper is taken out of the script and run with `ip` replaced by a recorder.

use std::path::Path;
use std::process::Command;

fn demo() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo.sh")).unwrap()
}

/// Arguments printed NUL-separated by `printf '%s\0'`.
fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Regression: the demo echoed `sshfix probe -i INV` and `sshfix plan … --markdown
/// FILE` while it ran them with `--banner-timeout 8` and `--out FILE` too.
#[test]
fn the_demo_shows_exactly_the_commands_it_runs() {
    let text = demo();
    // every run of sshfix goes through the one helper (the `--keep` help text
    // mentions `$sshfix` unquoted, and runs nothing)
    let runs: Vec<&str> = text.lines().filter(|l| l.contains("\"$sshfix\"")).collect();
    assert_eq!(
        runs,
        ["  ip netns exec \"$LAB_CTL_NS\" \"$sshfix\" \"$@\" || true"],
        "sshfix must run only inside `sshfix_shown`"
    );
    assert!(!text.contains("echo \"\\$ sshfix"), "no hand-written echo");

    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let script = format!(
        r#"set -euo pipefail
eval "$(sed -n '/^sshfix_shown()/,/^}}/p' {demo})"
ip() {{ shift 4; printf '%s\0' "$@" > {ran}; }}
LAB_CTL_NS=ns sshfix=/nonexistent/sshfix
sshfix_shown plan -i "/tmp/lab dir/inventory.ini" --out 'it'"'"'s.json' -l 'h2:h3' --markdown '$(x)'
"#,
        demo = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts/demo.sh")
            .display(),
        ran = ran.display()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = shown
        .lines()
        .find_map(|l| l.strip_prefix("$ sshfix "))
        .unwrap_or_else(|| panic!("no `$ sshfix` line in {shown:?}"));
    // the shown line, split by a shell, is the argv that ran
    let reparsed = Command::new("bash")
        .arg("-c")
        .arg(r#"eval "set -- $1"; printf '%s\0' "$@""#)
        .arg("bash")
        .arg(line)
        .output()
        .unwrap();
    assert!(reparsed.status.success());
    let expected = [
        "plan",
        "-i",
        "/tmp/lab dir/inventory.ini",
        "--out",
        "it's.json",
        "-l",
        "h2:h3",
        "--markdown",
        "$(x)",
    ];
    assert_eq!(split_nul(&std::fs::read(&ran).unwrap()), expected);
    assert_eq!(split_nul(&reparsed.stdout), expected, "shown: {line}");
}
