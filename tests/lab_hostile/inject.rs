//! Injection: hostile inventory values are refused before any connection
//! (naming the host and variable) or reach the host only quoted; hostile
//! file names and contents on a host travel through facts into edits and
//! land byte-exact; hostile playbook arguments reach the host quoted. No
//! payload ever runs (no marker file on the host or the controller), and the
//! recorder shows only commands sshfix builds. A NUL byte in hosts.allow
//! (libwrap then joins the next line to it) never leaves a host worse; a
//! drop-in whose name has a space is a known gap of the facts (ignored trial).
//!
//! `ansible_ssh_common_args` (ssh options) and `sshfix_console` (a command
//! run by the controller's shell) are commands by design, as in Ansible, and
//! are not exercised here.

use std::path::Path;

use libtest_mimic::Failed;
use serde_json::{json, Value};

use super::record::{self, expect_quoted, quoted, Become, Sent};
use super::{check, plan_host, planned_after, Ctx, Sshfix};

pub const TRIALS: &[(&str, super::TrialFn)] = &[
    (
        "inject::refused_inventory_values_never_reach_ssh_or_the_host",
        refused_inventory_values,
    ),
    (
        "inject::odd_names_and_become_user_reach_the_host_only_quoted",
        odd_names_and_become_user,
    ),
    (
        "inject::host_file_names_and_contents_land_byte_exact",
        host_files,
    ),
    (
        "inject::playbook_arguments_reach_the_host_quoted",
        playbook_arguments,
    ),
    (
        "inject::nul_byte_in_hosts_allow_gets_the_new_line_before_it",
        nul_byte_in_hosts_allow,
    ),
    (
        "inject::drop_in_names_with_spaces_are_read_by_the_facts",
        drop_in_names_with_spaces,
    ),
];

/// `loop:` over the one string `s`: `{{ ['…'] }}` with `s` escaped as a
/// Jinja string literal (a loop must be an expression).
fn jinja_list(s: &str) -> String {
    let mut lit = String::new();
    for c in s.chars() {
        match c {
            '\\' => lit.push_str("\\\\"),
            '\'' => lit.push_str("\\'"),
            '\n' => lit.push_str("\\n"),
            c => lit.push(c),
        }
    }
    format!("{{{{ ['{lit}'] }}}}")
}

/// A YAML inventory (JSON is YAML) with `hosts` (name → variables) in `all`.
fn yaml_inventory(dir: &Path, file: &str, hosts: Value) -> Result<std::path::PathBuf, Failed> {
    let path = dir.join(file);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json!({"all": {"hosts": hosts}}))?,
    )?;
    Ok(path)
}

/// `apply --plan PLAN_FILE --format json`: exit 0 and `h` repaired.
fn apply_saved_plan(
    ctx: &Ctx,
    h: &str,
    inv: &Path,
    state: &Path,
    cwd: &Path,
    plan_file: &Path,
) -> Result<(), Failed> {
    let apply = Sshfix {
        sub: "apply",
        inventory: inv,
        ssh_config: &ctx.ssh_config(),
        state,
        cwd,
        args: &[
            "--plan",
            plan_file.to_str().ok_or("path")?,
            "--format",
            "json",
        ],
        env: &[],
    }
    .run()?;
    apply.expect_code(0)?;
    let out = super::host_outcome(&apply.json()?, h)?.clone();
    check(out["result"] == "repaired", || {
        format!(
            "{h}: {} ({})\n{}",
            out["result"],
            out["reason"],
            apply.show()
        )
    })
}

/// Each value is refused before anything is contacted: exit 1, an error
/// naming the host and the variable, nothing recorded on the host, no marker.
fn refused_inventory_values(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h6";
    let addr = ctx.addr(h);
    let t = &ctx.token;
    let direct = |mut vars: Value| {
        vars["ansible_host"] = json!(addr);
        vars["sshfix_paths"] = json!("direct");
        vars
    };
    let newline_name = format!("h6\nMatch all\n  ProxyCommand touch /tmp/{t}-r13 #");
    let newline_jump = format!("j\nMatch all\n  ProxyCommand touch /tmp/{t}-r14 #");
    // (inventory hosts, the host the error names as shown, the variable)
    let mut cases: Vec<(Value, String, &str)> = vec![
        (
            json!({format!("-oProxyCommand=touch /tmp/{t}-r1"): {"sshfix_paths": "direct"}}),
            format!("-oProxyCommand=touch /tmp/{t}-r1"),
            "ansible_host",
        ),
        (
            json!({format!("h6{}", ctx.dollar("/tmp", "r2")): {"sshfix_paths": "direct"}}),
            format!("h6{}", ctx.dollar("/tmp", "r2")),
            "ansible_host",
        ),
        (
            json!({"h6": {"ansible_host": format!("-oProxyCommand=touch /tmp/{t}-r3"), "sshfix_paths": "direct"}}),
            "h6".into(),
            "ansible_host",
        ),
        (
            json!({"h6": {"ansible_host": format!("{addr};touch /tmp/{t}-r4"), "sshfix_paths": "direct"}}),
            "h6".into(),
            "ansible_host",
        ),
        (
            json!({"h6": direct(json!({"ansible_user": format!("-oProxyCommand=touch /tmp/{t}-r5")}))}),
            "h6".into(),
            "ansible_user",
        ),
        (
            json!({"h6": direct(json!({"ansible_user": format!("r'o\"o{}", ctx.backtick("/tmp", "r6"))}))}),
            "h6".into(),
            "ansible_user",
        ),
        (
            json!({"h6": direct(json!({"ansible_port": format!("22 -oProxyCommand=touch /tmp/{t}-r7")}))}),
            "h6".into(),
            "ansible_port",
        ),
        (
            json!({"h6": direct(json!({"sshfix_jump": format!("-oProxyCommand=touch /tmp/{t}-r8")}))}),
            "h6".into(),
            "sshfix_jump",
        ),
        (
            json!({"h6": direct(json!({"sshfix_jump": format!("root@j{}", ctx.dollar("/tmp", "r9"))}))}),
            "h6".into(),
            "sshfix_jump",
        ),
        (
            json!({"h6": direct(json!({"sshfix_allow_from": format!("10.0.0.1;touch /tmp/{t}-r10")}))}),
            "h6".into(),
            "sshfix_allow_from",
        ),
        (
            json!({"h6": direct(json!({"sshfix_allow_from": [ctx.dollar("/tmp", "r11")]}))}),
            "h6".into(),
            "sshfix_allow_from",
        ),
        (
            json!({"h6": direct(json!({"sshfix_allow_from": "-10.0.0.1"}))}),
            "h6".into(),
            "sshfix_allow_from",
        ),
        (
            json!({&newline_name: direct(json!({}))}),
            newline_name.escape_debug().to_string(),
            "inventory_hostname",
        ),
        (
            json!({"h6": direct(json!({
                "sshfix_console": "true", "sshfix_console_kind": "serial",
                "sshfix_console_login": format!("root{}", ctx.dollar("/tmp", "r15")),
            }))}),
            "h6".into(),
            "sshfix_console_login",
        ),
        (
            json!({"h6": direct(json!({
                "ansible_become": true,
                "sshfix_become_password_env": format!("PW;touch /tmp/{t}-r16"),
            }))}),
            "h6".into(),
            "sshfix_become_password_env",
        ),
    ];
    // a jump host named with a newline (its own name is refused too; `-l`
    // selects the target, whose `sshfix_jump` names it)
    cases.push((
        json!({
            &newline_jump: {"ansible_host": "10.77.0.2"},
            "h6": {"ansible_host": addr, "sshfix_jump": newline_jump, "sshfix_paths": "jump"},
        }),
        "h6".into(),
        "sshfix_jump",
    ));
    record::clear(ctx, h)?;
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    for (i, (hosts, shown, var)) in cases.iter().enumerate() {
        let limit = if shown == "h6" {
            vec!["-l", "h6"]
        } else {
            vec![]
        };
        let inv = yaml_inventory(dir.path(), &format!("case{i}.yml"), hosts.clone())?;
        let run = Sshfix {
            sub: "plan",
            inventory: &inv,
            ssh_config: &ctx.ssh_config(),
            state: &dir.path().join("state"),
            cwd: &cwd,
            args: &limit,
            env: &[],
        }
        .run()?;
        let want = format!("host `{shown}`: variable `{var}`");
        check(run.code == Some(1) && run.stderr.contains(&want), || {
            format!(
                "case {i} ({hosts}): want exit 1 and `{want}`:\n{}",
                run.show()
            )
        })?;
    }
    let recorded = record::read(ctx, h)?;
    check(recorded.is_empty(), || {
        format!("{h}: refused values still led to commands on the host: {recorded:?}")
    })?;
    ctx.no_markers(h, &[&cwd])
}

/// Names of any shape are labels: they never reach the host and come back
/// exact in the facts and the plan. A hostile `ansible_become_user` reaches
/// the host only as one quoted word of `sudo -u`.
fn odd_names_and_become_user(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h7";
    let addr = ctx.addr(h);
    let t = &ctx.token;
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    let state = dir.path().join("state");
    let name = format!(
        "web '{}' {} \"q\" ünï ✓ -oProxyCommand=touch /tmp/{t}-a3",
        ctx.dollar("/tmp", "a1"),
        ctx.backtick("/tmp", "a2")
    );
    let inv = yaml_inventory(
        dir.path(),
        "names.yml",
        json!({&name: {"ansible_host": addr, "sshfix_paths": "direct"}}),
    )?;
    record::clear(ctx, h)?;
    let run = |sub, inv: &Path, args: &[&str]| {
        Sshfix {
            sub,
            inventory: inv,
            ssh_config: &ctx.ssh_config(),
            state: &state,
            cwd: &cwd,
            args,
            env: &[],
        }
        .run()
    };
    let facts = run("facts", &inv, &["--format", "json"])?;
    facts.expect_code(0)?;
    let v = facts.json()?;
    check(v["hosts"][0]["host"] == name.as_str(), || {
        format!(
            "the facts name the host {} (want {name:?})",
            v["hosts"][0]["host"]
        )
    })?;
    let plan_file = dir.path().join("plan.json");
    let plan = run("plan", &inv, &["--out", plan_file.to_str().ok_or("path")?])?;
    plan.expect_code(0)?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan_file)?)?;
    plan_host(&saved, &name)?;
    // one command per run (the path check and the facts script in one), and
    // the name is in none of them
    let sent = record::sent(ctx, h, "root", Become::No)?;
    check(sent.len() == 2, || {
        format!(
            "{h}: facts and plan should send one command each, sent {}: {sent:?}",
            sent.len()
        )
    })?;
    check(
        sent.iter().all(|s| !s.script().contains(t.as_str())),
        || format!("{h}: the inventory name reached the host: {sent:?}"),
    )?;

    // a hostile become user: sudo refuses it, and it was one quoted word
    let user = format!(
        "r'o\"o{}{};touch /tmp/{t}-a6",
        ctx.dollar("/tmp", "a4"),
        ctx.backtick("/tmp", "a5")
    );
    let inv = yaml_inventory(
        dir.path(),
        "become.yml",
        json!({"h7": {"ansible_host": addr, "sshfix_paths": "direct",
                      "ansible_become": true, "ansible_become_user": user}}),
    )?;
    record::clear(ctx, h)?;
    let facts = run("facts", &inv, &[])?;
    check(
        facts.code == Some(4)
            && facts.stderr.contains("host `h7`")
            && facts.stderr.contains("sudo"),
        || {
            format!(
                "want exit 4 with sudo's refusal for host `h7`:\n{}",
                facts.show()
            )
        },
    )?;
    let sent = record::sent(ctx, h, "root", Become::NoPassword(&user))?;
    check(!sent.is_empty(), || {
        format!("{h}: nothing was sent through sudo")
    })?;
    ctx.no_markers(h, &[&cwd])
}

/// On h1 (reached over the jump host: TCP wrappers refuse the controller): a
/// drop-in whose name holds quotes, `$()`, backticks and unicode sets a
/// Banner with such a path; hosts.allow has such a comment and a NUL byte.
/// The plan comments out the Banner line and adds an allow line; after
/// `apply --plan` both files hold exactly the planned bytes (and those are
/// the original bytes plus the change), every command was built by the
/// quoting function and carried the drop-in's path quoted, and no payload ran.
fn host_files(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h1";
    let t = &ctx.token;
    // no `/` in a file name: the payloads touch in the working directory
    let dropin = format!(
        "/etc/ssh/sshd_config.d/10-it's$(cd;touch${{IFS}}{t}-g);`cd;touch${{IFS}}{t}-h`ünï✓.conf"
    );
    let banner = format!("/etc/ssh/b$(touch${{IFS}}/tmp/{t}-i)`touch${{IFS}}/tmp/{t}-j`ünï");
    let banner_line = format!("Banner \"{banner}\"");
    // libwrap joins the line after a NUL byte to the text before it: the
    // blank line keeps the allow line apart (see `nul_byte_in_hosts_allow`)
    let allow_tail = format!(
        "# hostile: {} {} it's \"q\" ünïcödé ✓\n# nul:\0:end\n\n",
        ctx.dollar("/tmp", "k"),
        ctx.backtick("/tmp", "l")
    );
    ctx.sh(
        h,
        "printf '%s\\n' \"$SFX_LINE\" >\"$SFX_DROPIN\"",
        b"",
        &[("SFX_LINE", &banner_line), ("SFX_DROPIN", &dropin)],
    )?;
    ctx.sh(h, "cat >>/etc/hosts.allow", allow_tail.as_bytes(), &[])?;
    let allow_before = std::fs::read(ctx.host_path(h, "/etc/hosts.allow"))?;
    let dropin_before = std::fs::read(ctx.host_path(h, &dropin))?;

    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    let state = dir.path().join("state");
    let inv = ctx.lab_dir.join("inventory.ini");
    let plan_file = dir.path().join("plan.json");
    let md = dir.path().join("plan.md");
    record::clear(ctx, h)?;
    let plan = Sshfix {
        sub: "plan",
        inventory: &inv,
        ssh_config: &ctx.ssh_config(),
        state: &state,
        cwd: &cwd,
        args: &[
            "-l",
            h,
            "--out",
            plan_file.to_str().ok_or("path")?,
            "--markdown",
            md.to_str().ok_or("path")?,
        ],
        env: &[],
    }
    .run()?;
    plan.expect_code(0)?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan_file)?)?;
    let host = plan_host(&saved, h)?;
    let want_allow = [allow_before.as_slice(), b"sshd: 10.77.0.1\n"].concat();
    let planned_allow = planned_after(host, "/etc/hosts.allow")?;
    check(planned_allow == want_allow, || {
        format!(
            "hosts.allow: planned {:?}, want the original plus the allow line {:?}",
            String::from_utf8_lossy(&planned_allow),
            String::from_utf8_lossy(&want_allow)
        )
    })?;
    let planned_dropin = planned_after(host, &dropin)?;
    let text = String::from_utf8_lossy(&planned_dropin);
    check(
        text.starts_with("# sshfix: disabled (")
            && dropin_before.ends_with(b"\n")
            && planned_dropin.ends_with(format!("): {banner_line}\n").as_bytes()),
        || format!("the drop-in's planned content is not the Banner line commented out: {text:?}"),
    )?;

    record::clear(ctx, h)?;
    apply_saved_plan(ctx, h, &inv, &state, &cwd, &plan_file)?;
    for (path, want) in [
        ("/etc/hosts.allow", &planned_allow),
        (dropin.as_str(), &planned_dropin),
    ] {
        let now = std::fs::read(ctx.host_path(h, path))?;
        check(now == **want, || {
            format!(
                "{path} on {h} holds {:?}, planned {:?}",
                String::from_utf8_lossy(&now),
                String::from_utf8_lossy(want)
            )
        })?;
    }
    let names: Vec<String> = std::fs::read_dir(ctx.host_path(h, "/etc/ssh/sshd_config.d"))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let base = dropin.rsplit('/').next().unwrap_or_default();
    check(names == [base], || {
        format!("sshd_config.d holds {names:?}, want only {base:?}")
    })?;
    // the apply's commands: each one built by the quoting function, the path
    // check first, the drop-in's path among their words in its quoted form
    let sent = record::sent(ctx, h, "root", Become::No)?;
    check(
        matches!(sent.first(), Some(Sent::Script { script, .. }) if script.starts_with("echo sshfix-path-ok")),
        || format!("{h}: apply did not start with the path check: {sent:?}"),
    )?;
    check(sent.contains(&Sent::Verify), || {
        format!("{h}: apply did not verify the direct path with a fresh ssh")
    })?;
    expect_quoted(&sent, &dropin, "the drop-in's path")?;
    ctx.no_markers(h, &[&cwd])?;
    // and the review document and plan show the path as it is
    let md = std::fs::read_to_string(&md)?;
    check(md.contains("10-it's"), || {
        format!("the review document lacks the drop-in: {md}")
    })?;
    Ok(())
}

/// A user playbook whose fix tasks carry hostile arguments: a `file`
/// directory and a `command` whose `creates` and looped argument hold quotes,
/// `$()`, backticks, `;`, `#` and unicode, and an `sshd_config` value with
/// `$()`. They reach the host quoted and do exactly what they say; an
/// address that is not an IP and a command with a newline are refused with
/// their reasons.
fn playbook_arguments(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h2";
    let t = &ctx.token;
    let dir_path = format!(
        "/root/d'{}{}\"q\" ünï ✓",
        ctx.dollar("/tmp", "p1"),
        ctx.backtick("/tmp", "p2")
    );
    let creates = format!(
        "/root/cr'{}{}",
        ctx.dollar("/tmp", "p3"),
        ctx.backtick("/tmp", "p4")
    );
    let item = format!(
        "a'b {} {} \"q\" ünï ✓ ; touch /tmp/{t}-p7 #",
        ctx.dollar("/tmp", "p5"),
        ctx.backtick("/tmp", "p6")
    );
    let newline_item = format!("line1\n{}", ctx.dollar("/tmp", "p8"));
    let banner = format!("/etc/ssh/x$(touch${{IFS}}/tmp/{t}-p9)ünï");
    let playbook = json!({
        "name": "hostile arguments",
        "checks": [
            {
                "id": "hostile-args",
                "severity": "info",
                "when": true,
                "summary": "hostile arguments reach the host quoted",
                "fix": [
                    {"file": {"path": dir_path, "state": "directory", "mode": "0700", "owner": "root"}},
                    {
                        "command": {
                            "cmd": "printf '%s' {{ item | quote }} >/root/cmd-out",
                            "creates": creates,
                            "undo": "rm -f /root/cmd-out",
                        },
                        "loop": jinja_list(&item),
                    },
                    {"sshd_config": {"set": {"Banner": banner}}},
                ],
            },
            {
                "id": "hostile-address",
                "severity": "info",
                "when": true,
                "summary": "an allow entry that is not an address",
                "fix": [{"hosts_access": {"allow": [format!("10.0.0.1;touch /tmp/{t}-p10")]}}],
            },
            {
                "id": "hostile-newline",
                "severity": "info",
                "when": true,
                "summary": "a command with a newline",
                "fix": [{
                    "command": {"cmd": "printf '%s' {{ item | quote }} >/root/cmd-out2"},
                    "loop": jinja_list(&newline_item),
                }],
            },
        ],
    });
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    let state = dir.path().join("state");
    let pb = dir.path().join("hostile.yml");
    std::fs::write(&pb, serde_json::to_string_pretty(&playbook)?)?;
    let inv = ctx.lab_dir.join("inventory.ini");
    let plan_file = dir.path().join("plan.json");
    record::clear(ctx, h)?;
    let plan = Sshfix {
        sub: "plan",
        inventory: &inv,
        ssh_config: &ctx.ssh_config(),
        state: &state,
        cwd: &cwd,
        args: &[
            "-l",
            h,
            "-p",
            pb.to_str().ok_or("path")?,
            "--out",
            plan_file.to_str().ok_or("path")?,
        ],
        env: &[],
    }
    .run()?;
    plan.expect_code(0)?;
    let saved: Value = serde_json::from_slice(&std::fs::read(&plan_file)?)?;
    let host = plan_host(&saved, h)?;
    let actions = host["actions"].as_array().cloned().unwrap_or_default();
    let cmd = format!("printf '%s' {} >/root/cmd-out", quoted(&item));
    check(
        actions
            .iter()
            .any(|a| a["kind"] == "file" && a["path"] == dir_path.as_str())
            && actions.iter().any(|a| {
                a["kind"] == "command"
                    && a["command"] == cmd.as_str()
                    && a["creates"] == creates.as_str()
            }),
        || {
            format!(
                "the plan lacks the file and command actions exactly as given: {}",
                host["actions"]
            )
        },
    )?;
    let human = serde_json::to_string(&host["needs_human"])?;
    check(
        human.contains("hostile-address")
            && human.contains("not an IP address")
            && human.contains("hostile-newline")
            && human.contains("single line"),
        || format!("the refused tasks are not listed with their reasons: {human}"),
    )?;

    record::clear(ctx, h)?;
    apply_saved_plan(ctx, h, &inv, &state, &cwd, &plan_file)?;
    let meta = std::fs::metadata(ctx.host_path(h, &dir_path))
        .map_err(|e| format!("{h}: {dir_path}: {e}"))?;
    use std::os::unix::fs::PermissionsExt;
    check(
        meta.is_dir() && meta.permissions().mode() & 0o7777 == 0o700,
        || format!("{h}: {dir_path} is not a 0700 directory: {meta:?}"),
    )?;
    let written = std::fs::read(ctx.host_path(h, "/root/cmd-out"))?;
    check(written == item.as_bytes(), || {
        format!(
            "{h}: /root/cmd-out holds {:?}, want {item:?}",
            String::from_utf8_lossy(&written)
        )
    })?;
    let effective = ctx.sh(h, "sshd -T | grep '^banner '", b"", &[])?;
    check(effective.trim_end() == format!("banner {banner}"), || {
        format!("{h}: sshd -T says {effective:?}, want banner {banner}")
    })?;
    let sent = record::sent(ctx, h, "root", Become::No)?;
    expect_quoted(&sent, &dir_path, "the file task's path")?;
    expect_quoted(&sent, &creates, "the command task's `creates`")?;
    expect_quoted(&sent, &cmd, "the command")?;
    ctx.no_markers(h, &[&cwd])
}

/// h9: TCP wrappers refuse the controller, and hosts.allow ends in a comment
/// holding a NUL byte. libwrap reads a line with `fgets` and measures it
/// with `strlen` (`xgets` in tcp_wrappers' misc.c): the text after the NUL
/// is dropped and the next line is joined to the comment, so an allow line
/// appended right after it is no rule at all. The plan must put its line
/// before the comment: the host is repaired, the direct path works, and
/// every byte of the old hosts.allow is still there after the new line.
fn nul_byte_in_hosts_allow(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h9";
    ctx.sh(h, "cat >>/etc/hosts.allow", b"# nul:\0:end\n", &[])?;
    let before = std::fs::read(ctx.host_path(h, "/etc/hosts.allow"))?;
    let dir = tempfile::tempdir()?;
    let cwd = dir.path().join("cwd");
    std::fs::create_dir(&cwd)?;
    let apply = Sshfix {
        sub: "apply",
        inventory: &ctx.lab_dir.join("inventory.ini"),
        ssh_config: &ctx.ssh_config(),
        state: &dir.path().join("state"),
        cwd: &cwd,
        args: &["--yes", "-l", h, "--format", "json"],
        env: &[],
    }
    .run()?;
    apply.expect_code(0)?;
    let out = super::host_outcome(&apply.json()?, h)?.clone();
    check(out["result"] == "repaired", || {
        format!(
            "{h}: {} ({})\n{}",
            out["result"],
            out["reason"],
            apply.show()
        )
    })?;
    let ssh = std::process::Command::new("ssh")
        .arg("-F")
        .arg(ctx.ssh_config())
        .args(["-o", "ConnectTimeout=8", &ctx.addr(h), "true"])
        .output()?;
    check(ssh.status.success(), || {
        format!(
            "{h}: repaired, but ssh still fails: {}",
            String::from_utf8_lossy(&ssh.stderr)
        )
    })?;
    let now = std::fs::read(ctx.host_path(h, "/etc/hosts.allow"))?;
    let comment = b"# nul:\0:end\n".as_slice();
    let at = before.len() - comment.len();
    check(
        now.ends_with(comment)
            && now.len() > before.len()
            && now[..at] == before[..at]
            && now[at..now.len() - comment.len()].starts_with(b"sshd: "),
        || {
            format!(
                "{h}: hosts.allow is not the old one with a line before the NUL comment: {:?}",
                String::from_utf8_lossy(&now)
            )
        },
    )
}

/// h10: sshd reads every drop-in its `Include` glob matches, spaces in the
/// name or not, and takes a quoted argument with spaces as one path; so must
/// the facts (the script once kept the files it found in space-separated
/// lists, so such a drop-in was split into words and never read). The
/// drop-in names a banner file that does not exist, so the plan must find
/// it missing, at its full path, in that file.
fn drop_in_names_with_spaces(ctx: &Ctx) -> Result<(), Failed> {
    let h = "h10";
    let dropin = "/etc/ssh/sshd_config.d/20-with space.conf";
    let banner = "/etc/ssh/no such banner";
    ctx.sh(
        h,
        "printf 'Banner \"%s\"\\n' \"$SFX_BANNER\" >\"$SFX_DROPIN\"",
        b"",
        &[("SFX_DROPIN", dropin), ("SFX_BANNER", banner)],
    )?;
    let dir = tempfile::tempdir()?;
    let run = |sub| {
        Sshfix {
            sub,
            inventory: &ctx.lab_dir.join("inventory.ini"),
            ssh_config: &ctx.ssh_config(),
            state: &dir.path().join("state"),
            cwd: dir.path(),
            args: &["-l", h, "--format", "json"],
            env: &[],
        }
        .run()
    };
    let facts = run("facts")?;
    facts.expect_code(0)?;
    let v = facts.json()?;
    let files = &v["hosts"][0]["facts"]["sshd"]["config_files"];
    check(
        files
            .as_array()
            .is_some_and(|a| a.iter().any(|f| f == dropin)),
        || format!("{h}: the facts read {files}, not `{dropin}`"),
    )?;
    let plan = run("plan")?;
    let v = plan.json()?;
    let findings = &super::plan_host(&v, h)?["findings"];
    check(
        findings.as_array().is_some_and(|a| {
            a.iter().any(|f| {
                let text = f.to_string();
                f["id"] == "banner-file-missing" && text.contains(banner) && text.contains(dropin)
            })
        }),
        || format!("{h}: no banner-file-missing naming `{banner}` in `{dropin}`: {findings:#}"),
    )
}
