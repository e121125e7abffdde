//! Tests of the apply scripts: data checks as data, and the scripts run by a
//! real `sh` in a private mount namespace (tmpfs over `/run` and
//! `/var/backups`, files in a temp dir) so nothing of the machine changes.

use super::*;
use crate::change::sha256_hex;
use std::process::Command;

/// A planned file: path, content before (`None`: new), content after.
type Planned<'a> = (&'a str, Option<&'a [u8]>, &'a [u8]);

fn spec_of(files: &[Planned], ops: &[Op]) -> HostSpec {
    let f: Vec<(String, Option<String>, String)> = files
        .iter()
        .map(|(p, b, a)| (p.to_string(), b.map(sha256_hex), sha256_hex(a)))
        .collect();
    spec("20261124T080000Z-abcdef", &f, ops).unwrap()
}

#[test]
fn hostile_values_are_refused_before_any_script_exists() {
    let bad_paths = ["relative/x", "/etc/a\nb", "/etc/../shadow", "/etc/a\tb"];
    for p in bad_paths {
        let r = spec("RUN1", &[(p.to_string(), None, "x".into())], &[]);
        assert!(r.is_err(), "{p:?} accepted");
    }
    let r = spec("../x", &[], &[]);
    assert!(r.is_err());
    let op = Op::File {
        path: "/run/sshd".into(),
        state: FileState::Directory,
        mode: Some("0755; rm -rf /".into()),
        owner: None,
        group: None,
        was: None,
    };
    assert!(spec("RUN1", &[], &[op]).is_err());
    let op = Op::Reload {
        target: "sshd; reboot".into(),
    };
    assert!(spec("RUN1", &[], &[op]).is_err());
}

#[test]
fn staged_candidates_are_hidden_beside_their_target() {
    assert_eq!(
        staged_path("/etc/ssh/sshd_config.d/10-trap.conf", "RUN1"),
        "/etc/ssh/sshd_config.d/.10-trap.conf.sshfix-RUN1.tmp"
    );
}

#[test]
fn one_check_per_sshd_tree_with_every_expectation() {
    let main = Validator::SshdConfig {
        config: "/etc/ssh/sshd_config".into(),
        expect: vec![("maxstartups".into(), "100:30:200".into())],
    };
    let dropin = Validator::SshdConfig {
        config: "/etc/ssh/sshd_config".into(),
        expect: vec![("usedns".into(), "no".into())],
    };
    let c = checks(&[main, Validator::None, dropin, Validator::Nft]);
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].files, vec![0, 2]);
    match &c[0].validator {
        Validator::SshdConfig { expect, .. } => assert_eq!(expect.len(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(c[1].files, vec![3]);
}

#[test]
fn sshd_t_expectations() {
    let out = "port 22\nmaxstartups 100:30:200\nusedns no\n";
    let want = vec![
        ("maxstartups".to_string(), "100:30:200".to_string()),
        ("usedns".to_string(), "no".to_string()),
        ("banner".to_string(), "none".to_string()),
    ];
    assert_eq!(
        missing_expectations(out, &want),
        vec![("banner".to_string(), "none".to_string())]
    );
}

#[test]
fn attrs_parse_like_stat_prints_them() {
    let a = parse_attrs(&["644", "0", "4", "0", "-"]).unwrap();
    assert_eq!(a.mode, "0644");
    assert_eq!((a.uid, a.gid, a.is_dir, a.context), (0, 4, false, None));
    assert!(parse_attrs(&["644", "x", "0", "0"]).is_none());
}

#[test]
fn restore_undoes_commands_in_reverse_and_stops_started_services() {
    let mut s = spec_of(
        &[("/etc/hosts.allow", Some(b"a\n"), b"b\n")],
        &[
            Op::Command {
                command: "nft insert rule inet filter input accept".into(),
                creates: None,
                undo: Some("echo undo-first".into()),
            },
            Op::Command {
                command: "true".into(),
                creates: None,
                undo: Some("echo undo-second".into()),
            },
            Op::Start {
                target: "sshd".into(),
            },
        ],
    );
    s.services[0].was_running = Some(false);
    let text = restore_script(&s).unwrap();
    let first = text.find("undo-first").unwrap();
    let second = text.find("undo-second").unwrap();
    assert!(second < first, "undos must run in reverse order");
    assert!(
        text.contains("sfx_svc stop 'sshd'") || text.contains("sfx_svc stop sshd"),
        "{text}"
    );
}

/// Runs `script` (with `stdin`) under `sh` in the private namespace rooted at
/// `root` (see [`Sandbox`]).
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Option<Sandbox> {
        if !nix::unistd::Uid::effective().is_root() {
            eprintln!("*** SKIPPED: the apply script sandbox needs root (unshare -m) ***");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI runs as root"
            );
            return None;
        }
        Some(Sandbox {
            dir: tempfile::tempdir().unwrap(),
        })
    }

    fn path(&self, rel: &str) -> String {
        format!("{}/{rel}", self.dir.path().display())
    }

    /// One shell session per call; /run and /var/backups are tmpfs that
    /// persist across calls through bind mounts of directories in the sandbox.
    fn sh(&self, script: &str, stdin: &[u8]) -> (i32, String, String) {
        let run = self.path("run");
        let backups = self.path("backups");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::create_dir_all(&backups).unwrap();
        let wrapper = format!(
            "mount --bind '{run}' /run && mount --bind '{backups}' /var/backups && exec sh -c \"$0\""
        );
        let mut child = Command::new("unshare")
            .args(["-m", "sh", "-c", &wrapper, script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// prepare → backup → stage → install → `restore.sh now`: the file ends
/// byte-identical with its mode, the lock is gone, and a second `now`
/// does nothing (decided).
#[test]
fn a_whole_cycle_restores_byte_identical_files() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::create_dir_all(sb.path("etc")).unwrap();
    let target = sb.path("etc/hosts.allow");
    let original = b"# original\r\nsshd: 10.0.0.1\n\xff\n".to_vec();
    std::fs::write(&target, &original).unwrap();
    std::os::unix::fs::chown(&target, Some(0), Some(4)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let new = b"# new\nsshd: 10.77.0.1\n".to_vec();
    let new_file = sb.path("etc/new.conf");
    let mut s = {
        let f = vec![
            (
                target.clone(),
                Some(sha256_hex(&original)),
                sha256_hex(&new),
            ),
            (new_file.clone(), None, sha256_hex(b"x\n")),
        ];
        spec("RUN1", &f, &[]).unwrap()
    };

    let (rc, out, err) = sb.sh(&prepare(&s, 2, 600).unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    assert!(out.contains("lock\tacquired"), "{out}");
    // a second run waits, then reports the holder
    let mut other = s.clone();
    other.run_id = "RUN2".into();
    let (_, out2, _) = sb.sh(&prepare(&other, 1, 600).unwrap(), b"");
    assert!(out2.contains("lock\theld\tRUN1\t"), "{out2}");

    for f in tagged(&out, "file") {
        let i: usize = f[1].parse().unwrap();
        if f[2] != "missing" {
            assert_eq!(f[2], sha256_hex(&original));
            s.files[i].attrs = parse_attrs(&f[3..]);
        }
    }
    assert_eq!(s.files[0].attrs.as_ref().unwrap().mode, "0640");
    let (rc, out, err) = sb.sh(&backup(&s).unwrap(), restore_script(&s).unwrap().as_bytes());
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("backup\t0\t{}", sha256_hex(&original))),
        "{out}"
    );
    let bdir = sb.path("backups/sshfix/RUN1");
    let mode = std::fs::metadata(&bdir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);

    let (rc, _, err) = sb.sh(&write_candidate(&s, 0).unwrap(), &new);
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = sb.sh(&write_candidate(&s, 1).unwrap(), b"x\n");
    assert_eq!(rc, 0, "{err}");
    let (rc, out, err) = sb.sh(&stage(&s).unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("staged\t0\t{}", sha256_hex(&new))),
        "{out}"
    );
    let (rc, out, err) = sb.sh(&install(&s).unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    assert_eq!(tagged(&out, "installed").len(), 2);
    assert_eq!(std::fs::read(&target).unwrap(), new);
    let meta = std::fs::metadata(&target).unwrap();
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o640,
        "installed with the original's mode"
    );
    use std::os::unix::fs::MetadataExt;
    assert_eq!(meta.gid(), 4, "installed with the original's group");

    let (rc, out, err) = sb.sh(&run_restore(&s, "now").unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("restored\t0\t{}", sha256_hex(&original))),
        "{out}"
    );
    assert!(out.contains("removed\t1"), "{out}");
    assert!(out.contains("done\t0"), "{out}");
    assert_eq!(std::fs::read(&target).unwrap(), original, "byte-identical");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(!std::path::Path::new(&new_file).exists());
    assert!(
        !std::path::Path::new(&sb.path("run/sshfix/lock")).exists(),
        "lock released"
    );
    // decided: a late confirmation loses, a second revert does not run again
    let (_, out, _) = sb.sh(&run_restore(&s, "confirm").unwrap(), b"");
    assert!(out.contains("decided\trevert"), "{out}");
}

/// The timer reverts by itself when nobody confirms, and a confirmation in
/// time disarms it.
#[test]
fn the_dead_man_timer_reverts_unless_confirmed() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::create_dir_all(sb.path("etc")).unwrap();
    let target = sb.path("etc/f");
    std::fs::write(&target, b"old\n").unwrap();
    for (run, confirm) in [("RUNA", false), ("RUNB", true)] {
        std::fs::write(&target, b"old\n").unwrap();
        let f = vec![(
            target.clone(),
            Some(sha256_hex(b"old\n")),
            sha256_hex(b"new\n"),
        )];
        let mut s = spec(run, &f, &[]).unwrap();
        let (_, out, _) = sb.sh(&prepare(&s, 2, 600).unwrap(), b"");
        s.files[0].attrs = tagged(&out, "file")
            .first()
            .and_then(|f| parse_attrs(&f[3..]));
        let (rc, _, err) = sb.sh(&backup(&s).unwrap(), restore_script(&s).unwrap().as_bytes());
        assert_eq!(rc, 0, "{err}");
        sb.sh(&write_candidate(&s, 0).unwrap(), b"new\n");
        sb.sh(&stage(&s).unwrap(), b"");
        let (rc, out, err) = sb.sh(&run_restore(&s, "arm 1").unwrap(), b"");
        assert_eq!(rc, 0, "{err}");
        assert!(out.starts_with("armed\t"), "{out}");
        let (rc, _, err) = sb.sh(&install(&s).unwrap(), b"");
        assert_eq!(rc, 0, "{err}");
        if confirm {
            let (_, out, _) = sb.sh(&run_restore(&s, "confirm").unwrap(), b"");
            assert!(out.contains("confirmed"), "{out}");
        }
        std::thread::sleep(std::time::Duration::from_millis(2500));
        let now = std::fs::read(&target).unwrap();
        if confirm {
            assert_eq!(now, b"new\n", "{run}: confirmed, kept");
        } else {
            assert_eq!(now, b"old\n", "{run}: the timer reverted");
            let by = std::fs::read_to_string(sb.path(&format!("backups/sshfix/{run}/decided/by")))
                .unwrap();
            assert_eq!(by.trim(), "timer");
        }
        assert!(
            !std::path::Path::new(&sb.path("run/sshfix/lock")).exists(),
            "{run}: lock released"
        );
    }
}

/// Someone else edits a target between the stale check and the install:
/// the install stops before renaming over their version, and a restore
/// keeps their version (`kept`) instead of putting the original back over it.
#[test]
fn a_concurrent_edit_is_never_overwritten() {
    let Some(sb) = Sandbox::new() else { return };
    std::fs::create_dir_all(sb.path("etc")).unwrap();
    let a = sb.path("etc/a");
    let b = sb.path("etc/b");
    std::fs::write(&a, b"a-old\n").unwrap();
    std::fs::write(&b, b"b-old\n").unwrap();
    let f = vec![
        (
            a.clone(),
            Some(sha256_hex(b"a-old\n")),
            sha256_hex(b"a-new\n"),
        ),
        (
            b.clone(),
            Some(sha256_hex(b"b-old\n")),
            sha256_hex(b"b-new\n"),
        ),
    ];
    let mut s = spec("RUNC", &f, &[]).unwrap();
    let (_, out, _) = sb.sh(&prepare(&s, 2, 600).unwrap(), b"");
    for (i, fr) in tagged(&out, "file").into_iter().enumerate() {
        s.files[i].attrs = parse_attrs(&fr[3..]);
    }
    let (rc, _, err) = sb.sh(&backup(&s).unwrap(), restore_script(&s).unwrap().as_bytes());
    assert_eq!(rc, 0, "{err}");
    for (i, new) in [b"a-new\n", b"b-new\n"].iter().enumerate() {
        let (rc, _, err) = sb.sh(&write_candidate(&s, i).unwrap(), *new);
        assert_eq!(rc, 0, "{err}");
    }
    let (rc, _, err) = sb.sh(&stage(&s).unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    // the other editor changes b after the stale check
    std::fs::write(&b, b"b-theirs\n").unwrap();
    let (rc, out, err) = sb.sh(&install(&s).unwrap(), b"");
    assert_eq!(rc, 3, "{out}{err}");
    assert!(
        err.contains("it changed on the host since the stale check"),
        "{err}"
    );
    assert_eq!(std::fs::read(&a).unwrap(), b"a-new\n", "a went in first");
    assert_eq!(std::fs::read(&b).unwrap(), b"b-theirs\n", "their b stays");
    // and the revert puts a back but keeps their b
    let (rc, out, err) = sb.sh(&run_restore(&s, "now").unwrap(), b"");
    assert_eq!(rc, 0, "{err}");
    assert!(
        out.contains(&format!("restored\t0\t{}", sha256_hex(b"a-old\n"))),
        "{out}"
    );
    assert!(
        out.contains(&format!("kept\t1\t{}", sha256_hex(b"b-theirs\n"))),
        "{out}"
    );
    assert_eq!(std::fs::read(&a).unwrap(), b"a-old\n");
    assert_eq!(std::fs::read(&b).unwrap(), b"b-theirs\n");
    let (problems, notes) = super::super::judge_restore(&s, &out);
    assert!(problems.is_empty(), "{problems:?}");
    assert!(
        notes.iter().any(|n| n.contains("changed by someone else")),
        "{notes:?}"
    );
}
