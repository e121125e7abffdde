//! Inventory tests: each format, typing, ranges, precedence, patterns and
//! malformed input with the exact message, plus a comparison of every fixture
//! with the real `ansible-inventory` (tests/ansible/setup-venv.sh installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use pretty_assertions::assert_eq;
use serde_json::{json, Value};
use sshfix::inventory::{Inventory, InventoryError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory")
}

fn load(rel: &[&str]) -> Inventory {
    let sources: Vec<PathBuf> = rel.iter().map(|r| fixtures().join(r)).collect();
    Inventory::load(&sources).unwrap_or_else(|e| panic!("{rel:?}: {e}"))
}

fn ini(text: &str) -> Inventory {
    Inventory::from_str_ini(text, "hosts.ini").unwrap_or_else(|e| panic!("{e}"))
}

fn yaml(text: &str) -> Inventory {
    Inventory::from_str_yaml(text, "hosts.yml").unwrap_or_else(|e| panic!("{e}"))
}

fn names(inv: &Inventory) -> Vec<&str> {
    inv.hosts().iter().map(|h| h.name.as_str()).collect()
}

fn vars(inv: &Inventory, host: &str) -> Value {
    inv.host_json(host)
        .unwrap_or_else(|| panic!("no host {host}"))
}

/// Groups of `--list` without `_meta`.
fn groups(inv: &Inventory) -> Value {
    let mut v = inv.to_list_json();
    v.as_object_mut().unwrap().remove("_meta");
    v
}

// ---------------------------------------------------------------- INI

#[test]
fn ini_inline_host_vars_are_python_literals() {
    let cases = [
        ("port=8080", json!({"port": 8080})),
        (
            "x=True y=False z=None",
            json!({"x": true, "y": false, "z": null}),
        ),
        ("s='a b' d=\"c d\"", json!({"s": "a b", "d": "c d"})),
        (
            "l=\"[1, 'two']\" t=(1,2) u=1,2",
            json!({"l": [1, "two"], "t": [1, 2], "u": [1, 2]}),
        ),
        ("m=\"{'k': 1}\"", json!({"m": {"k": 1}})),
        (
            "f=1.5 e=1e3 h=0x1F o=010",
            json!({"f": 1.5, "e": 1000.0, "h": 31, "o": "010"}),
        ),
        (
            "w=yes p=/usr/bin/python3 ip=10.0.0.1",
            json!({"w": "yes", "p": "/usr/bin/python3", "ip": "10.0.0.1"}),
        ),
        (
            "c=1j k=... b=b'x'",
            json!({"c": "1j", "k": "...", "b": "bx"}),
        ),
        ("a=x#not-a-comment", json!({"a": "x"})),
        ("empty=", json!({"empty": ""})),
    ];
    for (line, want) in cases {
        let inv = ini(&format!("h1 {line}\n"));
        assert_eq!(vars(&inv, "h1"), want, "{line}");
    }
}

#[test]
fn ini_group_vars_are_typed_like_ansible_2_19() {
    // ansible-core 2.19 runs [group:vars] values through literal_eval too.
    let inv =
        ini("[g]\nh1\n[g:vars]\nn=5\ns=hello world\nq='quoted'\nb=yes\nc=5 # comment\nl=[1,2]\n");
    assert_eq!(
        vars(&inv, "h1"),
        json!({"n": 5, "s": "hello world", "q": "quoted", "b": "yes", "c": 5, "l": [1, 2]})
    );
}

#[test]
fn ini_port_suffix_sets_ansible_port_on_first_definition() {
    let inv = ini("h1:2222\n[g]\nh1:3333\n[v6]\n[2001:db8::1]:22\n");
    assert_eq!(vars(&inv, "h1"), json!({"ansible_port": 2222}));
    assert_eq!(vars(&inv, "2001:db8::1"), json!({"ansible_port": 22}));
}

#[test]
fn ini_groups_children_ungrouped_and_list_shape() {
    let inv = ini(
        "# c\n; c\nloose\nboth\n[web]\nw1\nboth\n[prod:children]\nweb\nlater\n[later]\nl1\n[empty]\n[other:children]\nempty\n",
    );
    assert_eq!(
        groups(&inv),
        json!({
            "all": {"children": ["ungrouped", "prod", "other"]},
            "ungrouped": {"hosts": ["loose"]},
            "web": {"hosts": ["w1", "both"]},
            "prod": {"children": ["web", "later"]},
            "later": {"hosts": ["l1"]},
            "other": {"children": ["empty"]},
        })
    );
    assert_eq!(names(&inv), vec!["loose", "w1", "both", "l1"]);
    assert_eq!(
        inv.to_list_json()["_meta"],
        json!({"hostvars": {}, "profile": "inventory_legacy"})
    );
}

#[test]
fn ini_ranges_expand() {
    let cases: &[(&str, &[&str])] = &[
        ("web[01:03]", &["web01", "web02", "web03"]),
        ("db-[a:c]", &["db-a", "db-b", "db-c"]),
        ("n[1:10:3]", &["n1", "n4", "n7", "n10"]),
        (
            "r[1:2]-[a:b].example.com",
            &[
                "r1-a.example.com",
                "r1-b.example.com",
                "r2-a.example.com",
                "r2-b.example.com",
            ],
        ),
        ("10.0.0.[1:3]", &["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        ("h[8:10]:2200", &["h8", "h9", "h10"]),
    ];
    for (pattern, want) in cases {
        let inv = ini(&format!("[g]\n{pattern}\n"));
        assert_eq!(names(&inv), *want, "{pattern}");
    }
    let inv = ini("[g]\nh[8:9]:2200\n");
    assert_eq!(vars(&inv, "h9"), json!({"ansible_port": 2200}));
}

#[test]
fn ini_fixture_precedence() {
    let inv = load(&["ini/hosts.ini"]);
    // all < prod (depth 1) < web/db/edge (depth 2); group_vars/web.yml beats [web:vars].
    assert_eq!(
        vars(&inv, "web01"),
        json!({
            "ansible_python_interpreter": "/usr/bin/python3", "ansible_user": "deploy",
            "conn_timeout": 45, "depth_test": "web", "env": "prod", "from_group_vars_file": true,
            "http_port": 8080, "label": "front end", "name_with_hash": "x#y", "nothing": null,
            "ratio": 0.75, "tags": ["a", "b"], "tier": "web", "tls": true,
        })
    );
    // Same depth: higher ansible_group_priority last; deeper group still wins.
    assert_eq!(vars(&inv, "db1")["priority_test"], json!("db"));
    assert_eq!(vars(&inv, "db2")["ansible_port"], json!(2200));
    assert_eq!(
        vars(&inv, "lonely"),
        json!({"ansible_port": 2222, "ansible_python_interpreter": "/usr/bin/python3", "depth_test": "all"})
    );
    assert_eq!(groups(&inv)["ungrouped"], json!({"hosts": ["lonely"]}));
}

// ---------------------------------------------------------------- YAML

#[test]
fn yaml_types_are_yaml_1_1_like_pyyaml() {
    let inv = load(&["yaml/hosts.yml"]);
    assert_eq!(
        vars(&inv, "solo"),
        json!({"ansible_user": "admin", "become_it": true, "mode": 493, "exp": "1e3",
               "big": 1000, "when": "2024-05-01", "quoted_yes": "yes", "nothing": null})
    );
    assert_eq!(vars(&inv, "app1")["canary"], json!(true));
    assert_eq!(vars(&inv, "app1")["tier"], json!("canary"));
    assert_eq!(vars(&inv, "lb1")["weight"], json!(1.5));
    assert_eq!(vars(&inv, "lb1")["tier"], json!("lb"));
    assert_eq!(vars(&inv, "app-x")["ansible_port"], json!(2201));
    assert_eq!(
        vars(&inv, "app-y")["sshfix_paths"],
        json!(["jump", "console"])
    );
    assert_eq!(vars(&inv, "jump.example.com")["ansible_port"], json!(2222));
}

#[test]
fn yaml_structure_and_list_shape() {
    let inv = yaml("all:\n  hosts:\n    a:\n  children:\n    g:\n      hosts: b\n      children:\n        sub:\n          hosts:\n            c: {x: 1}\n    e:\n");
    assert_eq!(
        groups(&inv),
        json!({
            "all": {"children": ["ungrouped", "g", "e"]},
            "ungrouped": {"hosts": ["a"]},
            "g": {"hosts": ["b"], "children": ["sub"]},
            "sub": {"hosts": ["c"]},
        })
    );
    assert_eq!(names(&inv), vec!["a", "b", "c"]);
}

// ---------------------------------------------------------------- directories and precedence

#[test]
fn directory_with_group_vars_and_host_vars() {
    let inv = load(&["dir"]);
    assert_eq!(
        names(&inv),
        vec!["standalone", "mon1", "web01", "web02", "db1", "db2"]
    );
    // group_vars/all (file) beats [dc1:vars]; group_vars/dc1.json beats group_vars/all;
    // group_vars/web/ (directory, files merged in order) is used, web.yml ignored;
    // host_vars/web01.yml beats everything.
    assert_eq!(
        vars(&inv, "web01"),
        json!({"ansible_user": "alice", "dc": "dc1", "extra": [1, 2], "http_port": 8080,
               "override_me": "from-group_vars-dc1", "region": "eu",
               "sshfix_console": "docker exec -i web01 sh"})
    );
    // host_vars/db1/ directory: b.json after a.yml.
    assert_eq!(
        vars(&inv, "db1"),
        json!({"ansible_become": true, "ansible_host": "10.1.0.11", "ansible_user": "root",
               "db_engine": "postgres", "dc": "dc1", "override_me": "from-group_vars-dc1",
               "region": "eu", "sshfix_become_password_env": "DB_SUDO"})
    );
    assert_eq!(
        vars(&inv, "standalone"),
        json!({"ansible_user": "root", "override_me": "from-group_vars-all"})
    );
}

#[test]
fn group_vars_all_beats_inventory_child_group_vars() {
    // Ansible's order: inventory all < inventory groups < group_vars/all < group_vars/<group> < host.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hosts"),
        "[g]\nh x=host\n[g:vars]\ny=group\nz=group\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    std::fs::write(
        dir.path().join("group_vars/all.yml"),
        "x: all\ny: all\nz: all\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("group_vars/g.yaml"), "z: g-file\n").unwrap();
    let inv = Inventory::load(&[dir.path().join("hosts")]).unwrap();
    assert_eq!(
        vars(&inv, "h"),
        json!({"x": "host", "y": "all", "z": "g-file"})
    );
}

#[test]
fn several_sources_merge_in_order() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    std::fs::write(a.path().join("a.ini"), "[g]\nh1 v=a\nh2\n").unwrap();
    std::fs::write(
        b.path().join("b.yml"),
        "g:\n  hosts:\n    h1: {v: b}\n    h3:\n",
    )
    .unwrap();
    std::fs::create_dir(a.path().join("group_vars")).unwrap();
    std::fs::create_dir(b.path().join("group_vars")).unwrap();
    std::fs::write(a.path().join("group_vars/g.yml"), "gv: a\nonly_a: 1\n").unwrap();
    std::fs::write(b.path().join("group_vars/g.yml"), "gv: b\n").unwrap();
    let inv = Inventory::load(&[a.path().join("a.ini"), b.path().join("b.yml")]).unwrap();
    assert_eq!(names(&inv), vec!["h1", "h2", "h3"]);
    assert_eq!(vars(&inv, "h1"), json!({"v": "b", "gv": "b", "only_a": 1}));
}

// ---------------------------------------------------------------- executables

#[test]
fn executable_inventories() {
    let inv = load(&["script/inventory.py"]);
    assert_eq!(names(&inv), vec!["old1", "old2", "web1", "web2", "db1"]);
    assert_eq!(
        vars(&inv, "web1"),
        json!({"ansible_host": "10.0.0.1", "ansible_port": 2222, "env": "prod", "http_port": 80, "tier": "web"})
    );
    assert_eq!(vars(&inv, "db1")["nested"], json!({"a": [1, 2, null]}));
    assert!(inv.host("not-in-any-group").is_none());
    let inv = load(&["script/nometa.sh"]);
    assert_eq!(
        vars(&inv, "e1"),
        json!({"ansible_host": "192.0.2.21", "ansible_port": 22, "ansible_user": "pi", "site": "lab"})
    );
}

fn script(body: &str) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, path)
}

#[test]
fn executable_failures_name_the_program() {
    let (_d, path) = script("echo 'line one' >&2\necho 'cannot reach the CMDB' >&2\nexit 3");
    let err = Inventory::load(std::slice::from_ref(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "inventory program `{} --list` exited with status 3\nstandard error (last lines):\n  line one\n  cannot reach the CMDB",
            path.display()
        )
    );
    let (_d, path) = script("echo '{\"g\": {\"hosts\": [\"a\"]'");
    let err = Inventory::load(std::slice::from_ref(&path)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "inventory program `{} --list` printed invalid JSON at line 2 column 0: EOF while parsing an object at line 2 column 0",
            path.display()
        )
    );
    let (_d, path) = script("sleep 5");
    let err = Inventory::load_with_timeout(std::slice::from_ref(&path), Duration::from_millis(300))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "inventory program `{} --list` did not finish within 0 seconds and was stopped",
            path.display()
        )
    );
}

/// A bare file name is the file in the current directory, never a program of
/// that name on `$PATH` (sshfix runs as root).
#[test]
fn executable_named_without_a_slash_runs_from_the_current_directory() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _) = script("echo '{\"web\": {\"hosts\": [\"w1\"]}, \"_meta\": {\"hostvars\": {}}}'");
    let decoy = tempfile::tempdir().unwrap();
    let fake = decoy.path().join("inv.sh");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho '{\"evil\": {\"hosts\": [\"attacker\"]}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = common::isolate::sshfix()
        .args(["inventory", "-i", "inv.sh", "--list"])
        .current_dir(dir.path())
        .env(
            "PATH",
            format!(
                "{}:{}",
                decoy.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("\"w1\"") && !text.contains("attacker"),
        "{text}"
    );
}

/// The time limit holds for a wrapper whose children keep running, and the
/// output of a runaway program is capped.
#[test]
fn executable_limits_hold_for_children_and_floods() {
    let (_d, path) = script("sleep 30\necho '{}'");
    let started = std::time::Instant::now();
    let err = Inventory::load_with_timeout(std::slice::from_ref(&path), Duration::from_secs(1))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains("did not finish within 1 seconds"),
        "{err}"
    );
    let (_d, path) = script("( sleep 30 ) &\necho '{}'");
    let started = std::time::Instant::now();
    let err = Inventory::load_with_timeout(std::slice::from_ref(&path), Duration::from_secs(1))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        err.to_string().contains("did not finish within 1 seconds"),
        "{err}"
    );
    let (_d, path) = script("exec yes 0123456789012345678901234567890123456789");
    let err = Inventory::load_with_timeout(std::slice::from_ref(&path), Duration::from_secs(60))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "inventory program `{} --list` printed more than 256 MiB",
            path.display()
        )
    );
}

#[test]
fn inventory_command_refuses_a_limit_instead_of_ignoring_it() {
    let ini = fixtures().join("ini/hosts.ini");
    let out = common::isolate::sshfix()
        .args(["inventory", "-i"])
        .arg(&ini)
        .args(["--list", "-l", "web"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: `sshfix inventory` does not take `--limit` (`web`); it prints the whole inventory\nhint: `sshfix probe -l PATTERN` shows which hosts a pattern selects\n"
    );
}

// ---------------------------------------------------------------- patterns

#[test]
fn limit_patterns_like_ansible() {
    let inv = ini(
        "bastion\n[web]\nweb1\nweb2\nweb3\n[db]\ndb1\ndb2\n[prod:children]\nweb\ndb\n[staging]\nweb3\ndb2\n[canary]\nweb2\n",
    );
    let cases: &[(&str, &[&str])] = &[
        // Results come in Ansible's inventory order: `all`'s groups level by
        // level (checked with `ansible all -l PATTERN --list-hosts`).
        ("all", &["bastion", "web3", "db2", "web2", "web1", "db1"]),
        ("*", &["bastion", "web3", "db2", "web2", "web1", "db1"]),
        ("web", &["web3", "web2", "web1"]),
        ("web:db", &["web3", "db2", "web2", "web1", "db1"]),
        ("db,web1", &["db2", "web1", "db1"]),
        ("prod:&staging", &["web3", "db2"]),
        ("prod:!staging", &["web2", "web1", "db1"]),
        ("!staging", &["bastion", "web2", "web1", "db1"]),
        ("web*", &["web3", "web2", "web1"]),
        ("web?", &["web3", "web2", "web1"]),
        ("[bd]*", &["bastion", "db2", "db1"]),
        ("~(web|db)1", &["web1", "db1"]),
        ("~b", &["bastion"]),
        ("web[0]", &["web1"]),
        ("web[-1]", &["web3"]),
        ("web[1:2]", &["web3", "web2"]),
        ("web[1:]", &["web3", "web2"]),
        ("prod[0:1]:!canary", &["web1"]),
        ("ungrouped", &["bastion"]),
        ("bastion", &["bastion"]),
        ("nosuch", &[]),
        ("web:&nosuch", &[]),
    ];
    for (pattern, want) in cases {
        let got: Vec<&str> = inv
            .select(Some(pattern))
            .unwrap_or_else(|e| panic!("{pattern}: {e}"))
            .iter()
            .map(|h| h.name.as_str())
            .collect();
        assert_eq!(got, *want, "--limit {pattern}");
    }
    assert_eq!(inv.select(None).unwrap().len(), 6);
}

#[test]
fn bad_limit_patterns_are_errors() {
    let inv = ini("[web]\nweb1\n");
    let cases = [
        (
            "web[5]",
            "no host matches the subscripted pattern `web[5]`: it selects 1 host(s)",
        ),
        (
            "~web(",
            "host pattern `~web(` is not a valid regular expression: error: unclosed group",
        ),
    ];
    for (pattern, want) in cases {
        assert_eq!(
            inv.select(Some(pattern)).unwrap_err().to_string(),
            want,
            "{pattern}"
        );
    }
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_ini_errors_name_file_line_column() {
    let cases = [
        ("h1\n[web:chldren]\n", "hosts.ini:2:1: section header `[web:chldren]` has an unknown suffix `chldren`; expected `:vars` or `:children`"),
        ("[web prod]\n", "hosts.ini:1:1: section header `[web prod]` is not valid: a group name may not contain spaces, `:` or `]`, and the only suffixes are `:vars` and `:children`"),
        ("[web]\n  web1 port=22 oops\n", "hosts.ini:2:16: expected a `key=value` host variable after `web1`, found `oops`"),
        ("[web]\nweb1 x='open\n", "hosts.ini:2:1: cannot split host line `web1 x='open`: no closing quotation"),
        ("[web]\nweb1:\n", "hosts.ini:2:1: host `web1:` ends in `:`; a port number must follow it (e.g. `web1:2222`)"),
        ("---\n", "hosts.ini:1:1: `---` is not a host name; this looks like a YAML file (name it `.yml`)"),
        ("[web]\nweb[1:]\n", "hosts.ini:2:1: host range `[1:]` in `web[1:]` must specify an end value"),
        ("[web]\nweb[01:100]\n", "hosts.ini:2:1: host range `[01:100]` in `web[01:100]`: begin and end must have the same width (e.g. `[01:10]`)"),
        ("[web]\nweb[1:3\n", "hosts.ini:2:1: host range in `web[1:3` has no closing `]`"),
        ("[web]\nh\n[web:vars]\njustaword\n", "hosts.ini:4:1: expected `key=value` in `[web:vars]`, found `justaword`"),
        ("[web:children]\na b\n", "hosts.ini:2:1: expected a group name in `[web:children]`, found `a b`"),
        ("[web]\nh\n[dbs:vars]\nx=1\n", "hosts.ini:3:1: section `[dbs:vars]` sets variables of group `dbs`, which is not defined; add a `[dbs]` or `[dbs:children]` section"),
        ("[prod:children]\nweb\ndbs\n[web]\nh\n", "hosts.ini:3:1: section `[prod:children]` includes group `dbs`, which is not defined; add a `[dbs]` section (it may be empty)"),
        ("[a:children]\nb\n[b:children]\na\n", "hosts.ini:4:1: adding group `a` as a child of `b` creates a loop: `a` is already an ancestor of `b`"),
        ("[g]\nh\n[g:vars]\nansible_group_priority=high\n", "hosts.ini:4:1: `ansible_group_priority` must be an integer, found `\"high\"`"),
    ];
    for (text, want) in cases {
        let err: InventoryError = Inventory::from_str_ini(text, "hosts.ini").unwrap_err();
        assert_eq!(err.to_string(), want, "{text:?}");
    }
}

#[test]
fn malformed_yaml_errors_name_file_line_column() {
    let cases = [
        ("all:\n  hosts: [a, b]\n", "hosts.yml:2:3: `hosts` of group `all` must be a mapping, found a list"),
        ("all:\n  hosts:\n    123:\n", "hosts.yml:3:5: host name `123` must be a string; put numbers in quotes"),
        ("all:\n  hosts:\n    web1: just-a-string\n", "hosts.yml:3:5: the variables of host `web1` must be a mapping, found a string"),
        ("plugin: aws_ec2\n", "hosts.yml:1:1: this is a configuration file for the inventory plugin `aws_ec2`, which sshfix does not run; export it with `ansible-inventory -i hosts.yml --list > inventory.json` or use a static inventory"),
        ("- a\n- b\n", "`hosts.yml`: a YAML inventory must be a mapping of groups (e.g. `all:`), found a list"),
        ("", "`hosts.yml` is empty"),
        ("all:\n  children:\n    web: [a]\n", "hosts.yml:3:5: group `all`, child `web`: `web` is not a known host nor group"),
        ("all:\n  hosts:\n    web[1:]:\n", "hosts.yml:3:5: host range `[1:]` in `web[1:]` must specify an end value"),
    ];
    for (text, want) in cases {
        let err = Inventory::from_str_yaml(text, "hosts.yml").unwrap_err();
        assert_eq!(err.to_string(), want, "{text:?}");
    }
    let err = Inventory::from_str_yaml("all:\n  hosts: {a\n", "inv/hosts.yml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("inv/hosts.yml:3:1: invalid YAML: "),
        "{err}"
    );
}

#[test]
fn malformed_files_and_sources() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert_eq!(
        Inventory::load(std::slice::from_ref(&missing))
            .unwrap_err()
            .to_string(),
        format!("inventory source `{}` does not exist", missing.display())
    );
    std::fs::write(dir.path().join("hosts"), "[g]\nh\n").unwrap();
    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    std::fs::write(dir.path().join("group_vars/g.yml"), "- not\n- a mapping\n").unwrap();
    assert_eq!(
        Inventory::load(&[dir.path().join("hosts")])
            .unwrap_err()
            .to_string(),
        format!(
            "`{}` must be a mapping of variables (`name: value`), found a list",
            dir.path().join("group_vars/g.yml").display()
        )
    );
    std::fs::write(dir.path().join("group_vars/g.yml"), "a: [\n").unwrap();
    let err = Inventory::load(&[dir.path().join("hosts")])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}:2:1: invalid YAML: ",
            dir.path().join("group_vars/g.yml").display()
        )),
        "{err}"
    );
}

#[test]
fn default_inventory_is_empty() {
    let inv = Inventory::default();
    assert!(inv.hosts().is_empty());
    assert_eq!(
        inv.to_list_json(),
        json!({"_meta": {"hostvars": {}, "profile": "inventory_legacy"}, "all": {"children": ["ungrouped"]}})
    );
    assert!(inv.select(Some("web")).unwrap().is_empty());
}

// ---------------------------------------------------------------- robustness

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    fn fixture_texts() -> Vec<String> {
        [
            "ini/hosts.ini",
            "yaml/hosts.yml",
            "dir/10-hosts.ini",
            "dir/20-extra.yml",
        ]
        .iter()
        .map(|p| std::fs::read_to_string(fixtures().join(p)).unwrap())
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn mutated_inventories_never_panic(
            which in 0usize..4,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(vec!['[', ']', ':', '=', '\'', '"', '#', '\n', ' ', '-', '*', '!', '&', '~', '{', '}', ',', '0', 'a', '\\', '\u{e9}'])), 1..8),
            pattern in "[a-z0-9*?!&~:,\\[\\]\\-]{0,12}",
        ) {
            let mut text: Vec<char> = fixture_texts()[which].chars().collect();
            for (idx, op, ch) in edits {
                let i = idx.index(text.len() + 1);
                match op {
                    0 => text.insert(i, ch),
                    1 if i < text.len() => { text.remove(i); }
                    _ if i < text.len() => text[i] = ch,
                    _ => {}
                }
            }
            let text: String = text.into_iter().collect();
            let parsed = [
                Inventory::from_str_ini(&text, "m.ini"),
                Inventory::from_str_yaml(&text, "m.yml"),
            ];
            for inv in parsed.into_iter().flatten() {
                let _ = inv.to_list_json();
                let _ = inv.select(Some(&pattern));
            }
        }

        #[test]
        fn arbitrary_values_hosts_and_patterns_never_panic(
            value in "\\PC{0,24}",
            host in "[a-z0-9\\[\\]:._-]{1,16}",
            pattern in "\\PC{0,16}",
        ) {
            let text = format!("[g]\n{host} v={value:?}\n{host} w={value}\n[g:vars]\nx={value}\n");
            if let Ok(inv) = Inventory::from_str_ini(&text, "a.ini") {
                let _ = inv.to_list_json();
                let _ = inv.select(Some(&pattern));
            }
            let _ = Inventory::from_str_yaml(&format!("all:\n  vars:\n    v: {value}\n  hosts:\n    {host}:\n"), "a.yml");
        }
    }
}

// ---------------------------------------------------------------- the real ansible-inventory

fn venv() -> PathBuf {
    match std::env::var_os("SSHFIX_ANSIBLE_VENV") {
        Some(v) => PathBuf::from(v),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-ansible"),
    }
}

fn ansible_inventory(args: &[&str]) -> Value {
    let exe = venv().join("bin/ansible-inventory");
    let out = Command::new(&exe)
        .args(args)
        .current_dir(fixtures())
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "ansible-inventory {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Unable to parse") && !stderr.contains("Failed to parse"),
        "ansible-inventory {args:?} could not parse the fixture:\n{stderr}"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn sshfix_cli(args: &[&str]) -> Value {
    let out = common::isolate::sshfix()
        .args(args)
        .current_dir(fixtures())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sshfix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn same_output_as_real_ansible_inventory() {
    if !venv().join("bin/ansible-inventory").exists() {
        let msg = format!("no ansible-inventory in `{}`", venv().display());
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{msg}; run tests/ansible/setup-venv.sh");
        }
        eprintln!(
            "SKIPPED: same_output_as_real_ansible_inventory: {msg} (run tests/ansible/setup-venv.sh)"
        );
        return;
    }
    let sets: &[&[&str]] = &[
        &["ini/hosts.ini"],
        &["yaml/hosts.yml"],
        &["dir"],
        &["script/inventory.py"],
        &["script/nometa.sh"],
        &[
            "ini/hosts.ini",
            "yaml/hosts.yml",
            "dir",
            "script/inventory.py",
        ],
    ];
    for set in sets {
        let mut args: Vec<&str> = Vec::new();
        for s in *set {
            args.extend(["-i", s]);
        }
        let want = ansible_inventory(&[args.as_slice(), &["--list"]].concat());
        let inv = load(set);
        assert_eq!(inv.to_list_json(), want, "--list for {set:?}");
        // The binary prints the same, and in the same text (sorted keys).
        assert_eq!(
            sshfix_cli(&[args.as_slice(), &["inventory", "--list"]].concat()),
            want,
            "sshfix inventory --list for {set:?}"
        );
        // `--host` too (a few hosts per set: each run of Ansible takes a while).
        for host in inv.hosts().iter().take(3) {
            let want = ansible_inventory(&[args.as_slice(), &["--host", &host.name]].concat());
            assert_eq!(
                inv.host_json(&host.name).unwrap(),
                want,
                "--host {} for {set:?}",
                host.name
            );
        }
    }
}
