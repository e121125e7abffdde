//! The shell scripts `apply` and `rollback` run on a host, built as text from
//! data (pure: every path and command reaches the shell through
//! [`crate::transport::quote`]), and the parsers of what they print.
//!
//! One host's run, in script order (`architecture.md`, apply steps 1–8):
//! [`prepare`] (lock, hash and stat every file, service states, host keys),
//! [`backup`] (copies into `/var/backups/sshfix/RUN/` and `restore.sh`
//! there), [`write_candidate`] + [`stage`] (each new file beside its target
//! with the original's attributes), [`validate`], `restore.sh arm` (the
//! dead-man timer), [`commands`], [`install`] (rename into place),
//! [`services`], then `restore.sh confirm` or `restore.sh now`.
//!
//! `restore.sh` ([`restore_script`]) is written on the host before anything
//! changes. It is the single place that knows how to put the host back: the
//! dead-man timer, an explicit revert and `sshfix rollback` all run it. Who
//! decides a run's fate (`confirmed` by the controller or `timer`/`revert`)
//! is settled by one atomic `mkdir decided`, so a late confirmation and a
//! firing timer can never both win.
//!
//! Replies are lines of tab-separated fields; paths with control characters
//! are refused before any script is built, so a field never holds a tab.

use serde::{Deserialize, Serialize};

use crate::change::{FileState, Op, Validator};
use crate::transport::quote::{quote, QuoteError};

/// Where run backups live on a host.
pub const BACKUP_ROOT: &str = "/var/backups/sshfix";
/// The per-host lock (a directory; `owner` inside says `RUN SINCE EXPIRES`).
pub const LOCK_DIR: &str = "/run/sshfix/lock";

/// The service library every script that touches a daemon includes.
const SVC_LIB: &str = include_str!("svc.sh");

/// What one host's run changes, with what `prepare` saw before: everything
/// the scripts need, and what the journal keeps so `rollback` can rebuild
/// `restore.sh`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostSpec {
    pub run_id: String,
    pub files: Vec<SpecFile>,
    /// Commands and file-attribute actions, in plan order.
    pub steps: Vec<SpecStep>,
    /// Service actions, in plan order.
    pub services: Vec<SpecService>,
}

/// A file the run replaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecFile {
    pub path: String,
    /// `None`: must not exist before the run.
    pub before_sha256: Option<String>,
    pub after_sha256: String,
    /// The original's attributes, as `prepare` read them (`None` for a new file).
    #[serde(default)]
    pub attrs: Option<Attrs>,
}

/// Mode (octal), owner and SELinux context of a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub is_dir: bool,
    #[serde(default)]
    pub context: Option<String>,
}

/// A command or file-attribute action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SpecStep {
    Command {
        command: String,
        creates: Option<String>,
        undo: Option<String>,
        /// Whether it ran (set after the `commands` step; rollback undoes
        /// only what ran).
        #[serde(default)]
        ran: bool,
    },
    File {
        path: String,
        directory: bool,
        mode: Option<String>,
        owner: Option<String>,
        group: Option<String>,
        /// What `prepare` saw; `None` when the path was missing.
        #[serde(default)]
        was: Option<Attrs>,
        #[serde(default)]
        ran: bool,
    },
}

/// A service action and the service's state before the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecService {
    pub name: String,
    /// `reload`, `restart` or `start`.
    pub op: String,
    /// `None` until `prepare` has looked.
    #[serde(default)]
    pub was_running: Option<bool>,
}

/// Why a spec cannot be turned into scripts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("{0}")]
    Quote(#[from] QuoteError),
    #[error("{what} `{value}` {why}")]
    Bad {
        what: &'static str,
        value: String,
        why: &'static str,
    },
}

fn bad(what: &'static str, value: &str, why: &'static str) -> SpecError {
    SpecError::Bad {
        what,
        value: value.escape_debug().to_string(),
        why,
    }
}

fn q(s: &str, what: &str) -> Result<String, SpecError> {
    Ok(quote(s, what)?.into_owned())
}

/// A path that may appear in a script and in a reply line.
fn path_ok(p: &str) -> Result<(), SpecError> {
    if !p.starts_with('/') {
        return Err(bad("path", p, "is not absolute"));
    }
    if p.chars().any(char::is_control) {
        return Err(bad("path", p, "contains control characters"));
    }
    if p.split('/').any(|c| c == "..") {
        return Err(bad("path", p, "contains `..`"));
    }
    Ok(())
}

fn mode_ok(m: &str) -> Result<(), SpecError> {
    if (3..=4).contains(&m.len()) && m.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        Ok(())
    } else {
        Err(bad("mode", m, "is not an octal mode like 0644"))
    }
}

fn name_ok(n: &str) -> Result<(), SpecError> {
    if !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
    {
        Ok(())
    } else {
        Err(bad("name", n, "is not a plain service/user/group name"))
    }
}

/// A run id as `journal::new_run_id` makes them (it names a directory).
fn run_id_ok(id: &str) -> Result<(), SpecError> {
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(bad("run id", id, "is not a plain name"))
    }
}

impl HostSpec {
    /// Checks everything that will be interpolated into scripts.
    pub fn check(&self) -> Result<(), SpecError> {
        run_id_ok(&self.run_id)?;
        for f in &self.files {
            path_ok(&f.path)?;
        }
        for s in &self.steps {
            match s {
                SpecStep::Command {
                    command,
                    creates,
                    undo,
                    ..
                } => {
                    q(command, "command")?;
                    if let Some(c) = creates {
                        path_ok(c)?;
                    }
                    if let Some(u) = undo {
                        q(u, "undo command")?;
                    }
                }
                SpecStep::File {
                    path,
                    mode,
                    owner,
                    group,
                    ..
                } => {
                    path_ok(path)?;
                    if let Some(m) = mode {
                        mode_ok(m)?;
                    }
                    for n in owner.iter().chain(group) {
                        name_ok(n)?;
                    }
                }
            }
        }
        for s in &self.services {
            name_ok(&s.name)?;
            if !["reload", "restart", "start"].contains(&s.op.as_str()) {
                return Err(bad("service action", &s.op, "is not reload/restart/start"));
            }
        }
        Ok(())
    }

    /// The run's backup directory on the host.
    pub fn backup_dir(&self) -> String {
        format!("{BACKUP_ROOT}/{}", self.run_id)
    }

    /// Where the candidate of file `i` is written: beside its target (same
    /// file system, so the rename is atomic), hidden, and named so that no
    /// `Include`/glob picks it up.
    pub fn staged_path(&self, i: usize) -> String {
        staged_path(&self.files[i].path, &self.run_id)
    }
}

/// See [`HostSpec::staged_path`].
pub fn staged_path(path: &str, run_id: &str) -> String {
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    format!("{dir}/.{base}.sshfix-{run_id}.tmp")
}

/// Builds a spec from a host's planned changes (attributes and states are
/// filled in from [`prepare`]'s reply).
pub fn spec(
    run_id: &str,
    files: &[(String, Option<String>, String)],
    actions: &[Op],
) -> Result<HostSpec, SpecError> {
    let mut s = HostSpec {
        run_id: run_id.to_string(),
        files: files
            .iter()
            .map(|(path, before, after)| SpecFile {
                path: path.clone(),
                before_sha256: before.clone(),
                after_sha256: after.clone(),
                attrs: None,
            })
            .collect(),
        steps: Vec::new(),
        services: Vec::new(),
    };
    for op in actions {
        match op {
            Op::Reload { target } | Op::Restart { target } | Op::Start { target } => {
                s.services.push(SpecService {
                    name: target.clone(),
                    op: op.kind().to_string(),
                    was_running: None,
                })
            }
            Op::Command {
                command,
                creates,
                undo,
            } => s.steps.push(SpecStep::Command {
                command: command.clone(),
                creates: creates.clone(),
                undo: undo.clone(),
                ran: false,
            }),
            Op::File {
                path,
                state,
                mode,
                owner,
                group,
                ..
            } => s.steps.push(SpecStep::File {
                path: path.clone(),
                directory: *state == FileState::Directory,
                mode: mode.clone(),
                owner: owner.clone(),
                group: group.clone(),
                was: None,
                ran: false,
            }),
        }
    }
    s.check()?;
    Ok(s)
}

/// The lines every script starts with.
fn header(spec: &HostSpec) -> Result<String, SpecError> {
    Ok(format!(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH\n\
         export PATH\nLC_ALL=C\nexport LC_ALL\numask 077\nB={}\n\
         sfx_sha() {{ sha256sum <\"$1\" | cut -c1-64; }}\n\
         sfx_stat() {{ if [ -d \"$1\" ]; then d=1; else d=0; fi; printf '%s\\t%s\\t%s\\t%s' \"$(stat -c '%a' -- \"$1\")\" \"$(stat -c '%u' -- \"$1\")\" \"$(stat -c '%g' -- \"$1\")\" \"$d\"; }}\n\
         SFX_SELINUX=0\n\
         if [ -e /sys/fs/selinux/enforce ] && command -v chcon >/dev/null 2>&1; then SFX_SELINUX=1; fi\n\
         sfx_ctx() {{ if [ \"$SFX_SELINUX\" = 1 ]; then stat -c '%C' -- \"$1\" 2>/dev/null || echo -; else echo -; fi; }}\n",
        q(&spec.backup_dir(), "backup directory")?
    ))
}

/// Step 1: take the lock (waiting up to `wait_secs` for another run), then
/// report each file's hash and attributes, each attribute action's path,
/// each service's state and the host keys. The lock's lease expires after
/// `lease_secs` (a controller that died before arming its timer does not
/// lock the host forever).
///
/// Prints `lock\tacquired` or `lock\theld\tRUN\tSINCE\tEXPIRES` (and stops),
/// then `file\tI\tmissing|symlink|not-a-file|SHA\tMODE\tUID\tGID\tDIR\tCTX`,
/// `attr\tK\tmissing|MODE\tUID\tGID\tDIR\tCTX`, `svc\tNAME\trunning|stopped\tMANAGER`,
/// `key\tPATH\tSHA`, `unshare\t0|1`.
pub fn prepare(spec: &HostSpec, wait_secs: u64, lease_secs: u64) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(SVC_LIB);
    s.push_str(&format!(
        "command -v sha256sum >/dev/null 2>&1 || {{ echo 'sshfix needs sha256sum on the host (coreutils or busybox)' >&2; exit 3; }}\n\
         mkdir -p /run/sshfix && chmod 0700 /run/sshfix || {{ echo 'cannot create /run/sshfix' >&2; exit 3; }}\n\
         end=$(( $(date +%s) + {wait_secs} ))\n\
         while :; do\n\
         \x20 if mkdir {lock} 2>/dev/null; then\n\
         \x20   now=$(date +%s)\n\
         \x20   printf '%s %s %s\\n' {run} \"$now\" \"$((now + {lease_secs}))\" >{lock}/owner.tmp && mv {lock}/owner.tmp {lock}/owner\n\
         \x20   echo 'lock\tacquired'\n\
         \x20   break\n\
         \x20 fi\n\
         \x20 o_run=; o_since=; o_exp=\n\
         \x20 [ -f {lock}/owner ] && read -r o_run o_since o_exp <{lock}/owner\n\
         \x20 now=$(date +%s)\n\
         \x20 stale=0\n\
         \x20 if [ -n \"$o_exp\" ]; then [ \"$o_exp\" -lt \"$now\" ] 2>/dev/null && stale=1\n\
         \x20 elif [ -n \"$(find {lock} -maxdepth 0 -mmin +1 2>/dev/null)\" ]; then stale=1; fi\n\
         \x20 if [ \"$stale\" = 1 ]; then\n\
         \x20   if [ -n \"$(find /run/sshfix/break -maxdepth 0 -mmin +1 2>/dev/null)\" ]; then rmdir /run/sshfix/break 2>/dev/null; fi\n\
         \x20   if mkdir /run/sshfix/break 2>/dev/null; then\n\
         \x20     n_run=; n_since=; n_exp=\n\
         \x20     [ -f {lock}/owner ] && read -r n_run n_since n_exp <{lock}/owner\n\
         \x20     if [ \"$n_run $n_since $n_exp\" = \"$o_run $o_since $o_exp\" ] && mv {lock} /run/sshfix/stale.$$ 2>/dev/null; then\n\
         \x20       rm -rf /run/sshfix/stale.$$\n\
         \x20       printf 'lock-broken\\t%s\\t%s\\n' \"${{o_run:-?}}\" \"${{o_exp:-?}}\"\n\
         \x20     fi\n\
         \x20     rmdir /run/sshfix/break\n\
         \x20     continue\n\
         \x20   fi\n\
         \x20 fi\n\
         \x20 if [ \"$now\" -ge \"$end\" ]; then\n\
         \x20   printf 'lock\\theld\\t%s\\t%s\\t%s\\n' \"${{o_run:-?}}\" \"${{o_since:-?}}\" \"${{o_exp:-?}}\"\n\
         \x20   exit 0\n\
         \x20 fi\n\
         \x20 sleep 1\n\
         done\n",
        lock = LOCK_DIR,
        run = q(&spec.run_id, "run id")?,
    ));
    for (i, f) in spec.files.iter().enumerate() {
        let p = q(&f.path, "path")?;
        s.push_str(&format!(
            "if [ -L {p} ]; then printf 'file\\t{i}\\tsymlink\\n'\n\
             elif [ -f {p} ]; then printf 'file\\t{i}\\t%s\\t%s\\t%s\\n' \"$(sfx_sha {p})\" \"$(sfx_stat {p})\" \"$(sfx_ctx {p})\"\n\
             elif [ -e {p} ]; then printf 'file\\t{i}\\tnot-a-file\\n'\n\
             else printf 'file\\t{i}\\tmissing\\n'; fi\n"
        ));
    }
    for (k, st) in spec.steps.iter().enumerate() {
        if let SpecStep::File { path, .. } = st {
            let p = q(path, "path")?;
            s.push_str(&format!(
                "if [ -e {p} ]; then printf 'attr\\t{k}\\t%s\\t%s\\n' \"$(sfx_stat {p})\" \"$(sfx_ctx {p})\"; else printf 'attr\\t{k}\\tmissing\\n'; fi\n"
            ));
        }
    }
    let mut seen = Vec::new();
    for sv in &spec.services {
        if seen.contains(&sv.name) {
            continue;
        }
        seen.push(sv.name.clone());
        let n = q(&sv.name, "service")?;
        s.push_str(&format!(
            "printf 'svc\\t%s\\t%s\\t%s\\n' {n} \"$(sfx_svc status {n})\" \"$(sfx_svc_manager {n})\"\n"
        ));
    }
    s.push_str(KEYS);
    s.push_str(
        "if command -v unshare >/dev/null 2>&1 && unshare -m true 2>/dev/null; then echo 'unshare\t1'; else echo 'unshare\t0'; fi\n",
    );
    Ok(s)
}

/// Prints `key\tPATH\tSHA\tTEXT` for every host public key.
const KEYS: &str = "for k in /etc/ssh/ssh_host_*_key.pub; do [ -f \"$k\" ] && printf 'key\\t%s\\t%s\\t%s\\n' \"$k\" \"$(sfx_sha \"$k\")\" \"$(head -n 1 \"$k\" | tr -d '\\t\\r')\"; done\n";

/// The host's public keys, read after the service actions.
pub fn read_keys(spec: &HostSpec) -> Result<String, SpecError> {
    Ok(header(spec)? + KEYS)
}

/// Releases the lock if this run holds it (after a refusal before any change).
pub fn release(spec: &HostSpec, remove_backup: bool) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(&release_fn(spec)?);
    if remove_backup {
        // a timer that started although arming reported a failure
        s.push_str(&format!(
            "if [ -f \"$B/timer.pid\" ]; then kill -TERM \"-$(cat \"$B/timer.pid\")\" 2>/dev/null; fi\n\
             if [ -f \"$B/timer.unit\" ]; then systemctl stop sshfix-deadman-{} >/dev/null 2>&1; fi\n\
             mkdir \"$B/decided\" 2>/dev/null\n",
            spec.run_id
        ));
    }
    s.push_str("sfx_release\n");
    for i in 0..spec.files.len() {
        s.push_str(&format!("rm -f {}\n", q(&spec.staged_path(i), "path")?));
    }
    if remove_backup {
        s.push_str("rm -rf \"$B\"\n");
    }
    Ok(s)
}

fn release_fn(spec: &HostSpec) -> Result<String, SpecError> {
    Ok(format!(
        "sfx_release() {{ o=; [ -f {lock}/owner ] && read -r o _ <{lock}/owner; if [ \"$o\" = {run} ]; then rm -rf {lock}; fi; }}\n",
        lock = LOCK_DIR,
        run = q(&spec.run_id, "run id")?
    ))
}

/// Step 2: the backup directory (0700), a copy of every existing file with
/// its attributes (`cp -p`), a `manifest` for people, and `restore.sh`
/// (read from stdin). Prints `backup\tI\tSHA` per copy. On failure the
/// partial directory is removed and the script exits non-zero with the
/// reason on stderr.
pub fn backup(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(&format!(
        "sfx_fail() {{ echo \"$1\" >&2; rm -rf \"$B\"; exit 3; }}\n\
         mkdir -p {root} && chmod 0700 {root} || {{ echo 'cannot create {root}' >&2; exit 3; }}\n\
         mkdir \"$B\" 2>/dev/null || {{ echo \"backup directory $B already exists\" >&2; exit 3; }}\n\
         mkdir \"$B/files\" \"$B/ran\" || sfx_fail \"cannot create $B/files\"\n\
         cat >\"$B/restore.sh\" || sfx_fail \"cannot write $B/restore.sh\"\n\
         chmod 0700 \"$B/restore.sh\"\n\
         : >\"$B/manifest\" || sfx_fail \"cannot write $B/manifest\"\n",
        root = BACKUP_ROOT
    ));
    for (i, f) in spec.files.iter().enumerate() {
        let p = q(&f.path, "path")?;
        if f.before_sha256.is_some() {
            s.push_str(&format!(
                "f={p}; err=$(cp -p -- \"$f\" \"$B/files/{i}\" 2>&1) || sfx_fail \"backing up $f: $err\"\n\
                 printf 'backup\\t{i}\\t%s\\n' \"$(sfx_sha \"$B/files/{i}\")\"\n\
                 printf '%s\\t%s\\t%s\\n' {i} \"$(sfx_sha \"$B/files/{i}\")\" {p} >>\"$B/manifest\"\n",
            ));
        } else {
            s.push_str(&format!(
                "printf '%s\\t%s\\t%s\\n' {i} new {p} >>\"$B/manifest\"\n"
            ));
        }
    }
    s.push_str("sync 2>/dev/null\necho done\n");
    Ok(s)
}

/// Writes one candidate (stdin) to its staged path; a partial file is removed.
pub fn write_candidate(spec: &HostSpec, i: usize) -> Result<String, SpecError> {
    let t = q(&spec.staged_path(i), "path")?;
    Ok(format!(
        "umask 077\nif ! err=$(cat 2>&1 >{t}); then rm -f {t}; echo \"writing {tp}: $err\" >&2; exit 3; fi\n",
        tp = spec.staged_path(i).replace(['"', '$', '`', '\\'], "_"),
    ))
}

/// Gives each staged candidate its original's mode, owner and context (a new
/// file: 0644 root:root), flushes it, and prints `staged\tI\tSHA`.
pub fn stage(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    for (i, f) in spec.files.iter().enumerate() {
        let t = q(&spec.staged_path(i), "path")?;
        let (mode, uid, gid, ctx) = match &f.attrs {
            Some(a) => (a.mode.clone(), a.uid, a.gid, a.context.clone()),
            None => ("644".to_string(), 0, 0, None),
        };
        mode_ok(&mode)?;
        s.push_str(&format!(
            "chmod {mode} {t} && chown {uid}:{gid} {t} || {{ echo \"setting the attributes of the staged {i}\" >&2; exit 3; }}\n"
        ));
        if let Some(c) = ctx.filter(|c| c != "-") {
            s.push_str(&format!(
                "[ \"$SFX_SELINUX\" = 1 ] && chcon {} {t}\n",
                q(&c, "SELinux context")?
            ));
        }
        s.push_str(&format!(
            "sync -- {t} 2>/dev/null || sync\nprintf 'staged\\t{i}\\t%s\\n' \"$(sfx_sha {t})\"\n"
        ));
    }
    Ok(s)
}

/// One validation of [`validate`]: which files it covers and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Indexes into `spec.files` the check covers.
    pub files: Vec<usize>,
    pub validator: Validator,
}

/// Groups the files' validators into checks: one per sshd configuration
/// tree (all its candidates in place together), one per other file.
pub fn checks(validators: &[Validator]) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    for (i, v) in validators.iter().enumerate() {
        match v {
            Validator::None => {}
            Validator::SshdConfig { config, expect } => {
                if let Some(c) = out.iter_mut().find(|c| {
                    matches!(&c.validator, Validator::SshdConfig { config: k, .. } if k == config)
                }) {
                    c.files.push(i);
                    if let Validator::SshdConfig { expect: e, .. } = &mut c.validator {
                        for x in expect {
                            if !e.contains(x) {
                                e.push(x.clone());
                            }
                        }
                    }
                } else {
                    out.push(Check {
                        files: vec![i],
                        validator: Validator::SshdConfig {
                            config: config.clone(),
                            expect: expect.clone(),
                        },
                    });
                }
            }
            other => out.push(Check {
                files: vec![i],
                validator: other.clone(),
            }),
        }
    }
    out
}

/// Validates the staged candidates without installing them. An sshd tree is
/// checked as a whole: in a private mount namespace (`unshare -m`) each
/// candidate is bind-mounted over its target and `sshd -t`/`sshd -T` read
/// the tree from its real root, so nobody else ever sees a candidate; a host
/// without `unshare` can only have its main file checked (`sshd -t -f
/// CANDIDATE`). Prints `rc\tK\tCODE` then `out\tK\tLINE` for each check K.
pub fn validate(spec: &HostSpec, checks: &[Check], unshare: bool) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    for (k, c) in checks.iter().enumerate() {
        let out = format!("\"$B/check.{k}\"");
        let run = match &c.validator {
            Validator::SshdConfig { config, .. } => {
                path_ok(config)?;
                if unshare {
                    // never let a bind mount reach the host's namespace (an
                    // old util-linux keeps a shared `/` shared)
                    let mut inner = String::from("mount --make-rprivate / && ");
                    for &i in &c.files {
                        let f = &spec.files[i];
                        if f.before_sha256.is_none() {
                            return Err(bad(
                                "path",
                                &f.path,
                                "is a new file of the sshd configuration: sshfix cannot validate it in place",
                            ));
                        }
                        inner.push_str(&format!(
                            "mount --bind {} {} && ",
                            q(&spec.staged_path(i), "path")?,
                            q(&f.path, "path")?
                        ));
                    }
                    let cq = q(config, "path")?;
                    inner.push_str(&format!("sshd -t -f {cq} && sshd -T -f {cq}"));
                    format!("unshare -m sh -c {}", q(&inner, "script")?)
                } else {
                    let main = c
                        .files
                        .iter()
                        .find(|&&i| spec.files[i].path == *config)
                        .copied();
                    if c.files.len() != 1 || main.is_none() {
                        "echo 'this host has no working `unshare -m`: sshfix can validate only the main sshd_config on its own, not an edited drop-in; nothing was changed' >&2; false".to_string()
                    } else {
                        let t = q(&spec.staged_path(main.unwrap_or(0)), "path")?;
                        format!("sshd -t -f {t} && sshd -T -f {t}")
                    }
                }
            }
            Validator::Nft => {
                format!("nft -c -f {}", q(&spec.staged_path(c.files[0]), "path")?)
            }
            Validator::Haproxy => {
                format!(
                    "haproxy -c -f {}",
                    q(&spec.staged_path(c.files[0]), "path")?
                )
            }
            Validator::IptablesRestore { family } => {
                let bin = if family == "ipv6" {
                    "ip6tables-restore"
                } else {
                    "iptables-restore"
                };
                format!(
                    "{bin} --test <{}",
                    q(&spec.staged_path(c.files[0]), "path")?
                )
            }
            Validator::None => continue,
        };
        s.push_str(&format!(
            "( {run} ) </dev/null >{out} 2>&1\nprintf 'rc\\t{k}\\t%s\\n' \"$?\"\nsed 's/^/out\\t{k}\\t/' {out}\nrm -f {out}\n"
        ));
    }
    Ok(s)
}

/// Runs the commands and attribute actions in order, marking each in
/// `$B/ran/K` before it runs (a half-done command is still undone). Stops
/// at the first failure. Prints `step\tK\tran|skipped|failed` and, for a
/// failure, `out\tK\tLINE`. Refuses to start when the run was decided.
pub fn commands(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(DECIDED_GUARD);
    for (k, st) in spec.steps.iter().enumerate() {
        match st {
            SpecStep::Command {
                command, creates, ..
            } => {
                let body = format!(
                    "{}\n\
                     if sh -c {} </dev/null >\"$B/step.{k}\" 2>&1; then echo 'step\t{k}\tran'; else echo 'step\t{k}\tfailed'; sed 's/^/out\\t{k}\\t/' \"$B/step.{k}\"; exit 0; fi\n",
                    mark_ran(k),
                    q(command, "command")?
                );
                match creates {
                    Some(c) => s.push_str(&format!(
                        "if [ -e {} ]; then echo 'step\t{k}\tskipped'; else\n{body}fi\n",
                        q(c, "path")?
                    )),
                    None => s.push_str(&body),
                }
            }
            SpecStep::File {
                path,
                directory,
                mode,
                owner,
                group,
                ..
            } => {
                let p = q(path, "path")?;
                // one `&&` chain: `set -e` does nothing in a subshell whose
                // status is tested
                let mut chain = vec![if *directory {
                    format!("{{ [ -d {p} ] || mkdir -p {p}; }}")
                } else {
                    format!("{{ [ -f {p} ] || {{ echo 'not a regular file' >&2; false; }}; }}")
                }];
                if let Some(m) = mode {
                    chain.push(format!("chmod {m} {p}"));
                }
                match (owner, group) {
                    (Some(o), Some(g)) => chain.push(format!("chown {o}:{g} {p}")),
                    (Some(o), None) => chain.push(format!("chown {o} {p}")),
                    (None, Some(g)) => chain.push(format!("chgrp {g} {p}")),
                    (None, None) => {}
                }
                s.push_str(&format!(
                    "{}\nif {{ {}; }} >\"$B/step.{k}\" 2>&1; then echo 'step\t{k}\tran'; else echo 'step\t{k}\tfailed'; sed 's/^/out\\t{k}\\t/' \"$B/step.{k}\"; exit 0; fi\n",
                    mark_ran(k),
                    chain.join(" && ")
                ));
            }
        }
    }
    Ok(s)
}

/// Records that step `k` is about to run (so a half-done step is undone);
/// the step fails when the record cannot be written.
fn mark_ran(k: usize) -> String {
    format!(
        "touch \"$B/ran/{k}\" || {{ echo 'step\t{k}\tfailed'; echo \"out\t{k}\tcannot record the step in $B/ran (disk full or read-only?)\"; exit 0; }}"
    )
}

/// Exits 90 when the run's fate is already decided (the timer fired).
const DECIDED_GUARD: &str = "if [ -d \"$B/decided\" ]; then echo \"the dead-man timer already decided: $(cat \"$B/decided/by\" 2>/dev/null)\" >&2; exit 90; fi\n";

/// Renames every staged candidate over its target (atomic per file) and
/// prints `installed\tI\tSHA` as each lands; stops at the first failure
/// with the reason on stderr.
pub fn install(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(DECIDED_GUARD);
    for (i, f) in spec.files.iter().enumerate() {
        let t = q(&spec.staged_path(i), "path")?;
        let p = q(&f.path, "path")?;
        // the path in messages comes from the shell variable, never pasted
        s.push_str(&format!("f={p}\n"));
        // someone else may have changed the target since the stale check:
        // never rename over their version (their edit would be lost)
        let guard = match &f.before_sha256 {
            Some(b) => {
                let b = q(b, "sha256")?;
                format!(
                "now=$(sfx_sha {p} 2>/dev/null); [ \"$now\" = {b} ] || {{ echo \"installing $f: it changed on the host since the stale check (sha256 now ${{now:-none}}); someone else is editing it\" >&2; exit 3; }}\n"
                )
            }
            None => format!(
                "if [ -e {p} ] || [ -L {p} ]; then echo \"installing $f: it appeared on the host since the stale check; someone else is editing it\" >&2; exit 3; fi\n"
            ),
        };
        s.push_str(&guard);
        s.push_str(&format!(
            "err=$(mv -f -- {t} {p} 2>&1) || {{ echo \"installing $f: $err\" >&2; exit 3; }}\n\
             printf 'installed\\t{i}\\t%s\\n' \"$(sfx_sha {p})\"\n",
        ));
    }
    s.push_str("sync 2>/dev/null\n");
    Ok(s)
}

/// Runs the service actions in order through the host's service manager;
/// prints `svc\tNAME\tOP\tCODE` and, for a failure, `out\tNAME\tLINE`
/// (the tail of the service log), stopping there.
pub fn services(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(DECIDED_GUARD);
    s.push_str(SVC_LIB);
    s.push_str("SFX_SVC_LOG=\"$B/services.log\"\n");
    for sv in &spec.services {
        let n = q(&sv.name, "service")?;
        let op = &sv.op;
        s.push_str(&format!(
            "n0=$(wc -l <\"$SFX_SVC_LOG\" 2>/dev/null || echo 0)\n\
             if sfx_svc {op} {n}; then printf 'svc\\t%s\\t{op}\\t0\\n' {n}; else\n\
             printf 'svc\\t%s\\t{op}\\t1\\n' {n}; tail -n +$((n0 + 1)) \"$SFX_SVC_LOG\" | tail -n 5 | sed \"s/^/out\\t$(printf %s {n})\\t/\"; exit 0; fi\n"
        ));
    }
    Ok(s)
}

/// `restore.sh`: kept in the backup directory, run as
/// `sh restore.sh arm SECS` (start the dead-man timer), `timer SECS` (the
/// timer itself), `confirm`, `now` (revert at once) or `rollback`.
///
/// Restoring undoes, in this order: the commands that ran (their undo, in
/// reverse), attribute actions (old mode/owner back; a directory the run
/// created is removed when empty), staged candidates, the files (each
/// copied from its backup beside the target and renamed over it; a file the
/// run created is removed), then each touched service: reloaded (restarted
/// when the run restarted it) when it was running before, stopped when it
/// was not. Prints `undo\tK\tCODE`, `attr\tK\tCODE`, `restored\tI\tSHA`,
/// `removed\tI`, `failed\tI`, `svc\tNAME\tOP\tCODE`, then
/// `state\tNAME\trunning|stopped` (whether the service ended as it was
/// matters more than whether its reload worked), `done\tCODE`.
pub fn restore_script(spec: &HostSpec) -> Result<String, SpecError> {
    spec.check()?;
    let mut s = format!(
        "#!/bin/sh\n# sshfix run {run}: puts back what the run changed on this host.\n\
         # Usage: sh restore.sh now | rollback | confirm | arm SECS | timer SECS\n",
        run = spec.run_id
    );
    s.push_str(&header(spec)?);
    s.push_str(SVC_LIB);
    s.push_str("SFX_SVC_LOG=\"$B/services.log\"\n");
    s.push_str(&release_fn(spec)?);
    let unit = format!("sshfix-deadman-{}", spec.run_id);
    s.push_str(&format!(
        "trap '' PIPE HUP\n\
         sfx_decide() {{ mkdir \"$B/decided\" 2>/dev/null || return 1; echo \"$1\" >\"$B/decided/by\" 2>/dev/null; return 0; }}\n\
         sfx_stop_timer() {{\n\
         \x20 if [ -f \"$B/timer.pid\" ]; then p=$(cat \"$B/timer.pid\"); [ -n \"$p\" ] && [ \"$p\" != $$ ] && kill -TERM \"-$p\" 2>/dev/null; fi\n\
         \x20 if [ -f \"$B/timer.unit\" ]; then systemctl stop {unit} >/dev/null 2>&1; fi\n\
         \x20 return 0\n\
         }}\n"
    ));
    // the restore itself
    s.push_str("sfx_restore() {\nrc=0\n");
    // 1. undo the commands that ran, newest first
    for (k, st) in spec.steps.iter().enumerate().rev() {
        if let SpecStep::Command { undo: Some(u), .. } = st {
            s.push_str(&format!(
                "if [ -e \"$B/ran/{k}\" ]; then if sh -c {} </dev/null >>\"$B/restore.log\" 2>&1; then echo 'undo\t{k}\t0'; else echo 'undo\t{k}\t1'; rc=1; fi; fi\n",
                q(u, "undo command")?
            ));
        }
    }
    // 3. (after the files, which a directory the run created may hold)
    // attributes back; a directory the run created goes when empty
    let mut attrs = String::new();
    for (k, st) in spec.steps.iter().enumerate().rev() {
        if let SpecStep::File { path, was, .. } = st {
            let p = q(path, "path")?;
            let body = match was {
                None => format!("if [ -d {p} ]; then rmdir {p} 2>/dev/null; fi; true"),
                Some(a) => {
                    mode_ok(&a.mode)?;
                    format!("chmod {} {p} && chown {}:{} {p}", a.mode, a.uid, a.gid)
                }
            };
            attrs.push_str(&format!(
                "if [ -e \"$B/ran/{k}\" ]; then if {body}; then echo 'attr\t{k}\t0'; else echo 'attr\t{k}\t1'; rc=1; fi; fi\n"
            ));
        }
    }
    // 2. the files
    for (i, f) in spec.files.iter().enumerate() {
        s.push_str(&format!("rm -f {}\n", q(&spec.staged_path(i), "path")?));
        let p = q(&f.path, "path")?;
        // only the run's own version is put back: a file someone else
        // changed since (neither the original nor the run's version) is kept
        // as they made it and reported (`kept`)
        let after = q(&f.after_sha256, "sha256")?;
        s.push_str(&format!("cur=$(sfx_sha {p} 2>/dev/null)\n"));
        match (&f.before_sha256, &f.attrs) {
            (None, _) => s.push_str(&format!(
                "if [ ! -e {p} ] && [ ! -L {p} ]; then printf 'removed\\t{i}\\n'; elif [ \"$cur\" != {after} ]; then printf 'kept\\t{i}\\t%s\\n' \"$cur\";\n\
                 elif rm -f -- {p}; then printf 'removed\\t{i}\\n'; else printf 'failed\\t{i}\\n'; rc=1; fi\n"
            )),
            (Some(_), attrs) => {
                let tmp = q(&format!("{}.sshfix-restore", f.path), "path")?;
                let mut set = String::new();
                if let Some(a) = attrs {
                    mode_ok(&a.mode)?;
                    set = format!(" && chmod {} {tmp} && chown {}:{} {tmp}", a.mode, a.uid, a.gid);
                    if let Some(c) = a.context.as_ref().filter(|c| *c != "-") {
                        set.push_str(&format!(
                            " && {{ [ \"$SFX_SELINUX\" != 1 ] || chcon {} {tmp}; }}",
                            q(c, "SELinux context")?
                        ));
                    }
                }
                let b = q(f.before_sha256.as_deref().unwrap_or_default(), "sha256")?;
                s.push_str(&format!(
                    "if [ \"$cur\" = {b} ]; then printf 'restored\\t{i}\\t%s\\n' \"$cur\";\n\
                     elif [ -n \"$cur\" ] && [ \"$cur\" != {after} ]; then printf 'kept\\t{i}\\t%s\\n' \"$cur\";\n\
                     elif cp -p -- \"$B/files/{i}\" {tmp}{set} && mv -f -- {tmp} {p}; then printf 'restored\\t{i}\\t%s\\n' \"$(sfx_sha {p})\"; else rm -f {tmp}; printf 'failed\\t{i}\\n'; rc=1; fi\n"
                ));
            }
        }
    }
    s.push_str(&attrs);
    // 4. the services
    let mut seen: Vec<&str> = Vec::new();
    for sv in &spec.services {
        if seen.contains(&sv.name.as_str()) {
            continue;
        }
        seen.push(&sv.name);
        let strongest = spec
            .services
            .iter()
            .filter(|x| x.name == sv.name)
            .any(|x| x.op != "reload");
        let op = match sv.was_running {
            Some(false) => "stop",
            _ if strongest => "restart",
            _ => "reload",
        };
        let n = q(&sv.name, "service")?;
        s.push_str(&format!(
            "if sfx_svc {op} {n}; then printf 'svc\\t%s\\t{op}\\t0\\n' {n}; else printf 'svc\\t%s\\t{op}\\t1\\n' {n}; fi\n\
             printf 'state\\t%s\\t%s\\n' {n} \"$(sfx_svc status {n})\"\n"
        ));
    }
    s.push_str("sync 2>/dev/null\necho \"done\t$rc\"\n}\n");
    // entry points
    s.push_str(&format!(
        "case ${{1:-}} in\n\
         arm)\n\
         \x20 [ -d \"$B/decided\" ] && {{ echo 'already decided' >&2; exit 3; }}\n\
         \x20 secs=$2\n\
         \x20 if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 && systemd-run --quiet --unit {unit} /bin/sh \"$B/restore.sh\" timer \"$secs\" >/dev/null 2>&1; then\n\
         \x20   echo {unit} >\"$B/timer.unit\"\n\
         \x20 else\n\
         \x20   rm -f \"$B/timer.pid\"\n\
         \x20   if command -v setsid >/dev/null 2>&1; then setsid /bin/sh \"$B/restore.sh\" timer \"$secs\" </dev/null >/dev/null 2>&1 &\n\
         \x20   else nohup /bin/sh \"$B/restore.sh\" timer \"$secs\" </dev/null >/dev/null 2>&1 & fi\n\
         \x20   n=0; while [ ! -s \"$B/timer.pid\" ] && [ $n -lt 50 ]; do sleep 0.1 2>/dev/null || sleep 1; n=$((n+1)); done\n\
         \x20   [ -s \"$B/timer.pid\" ] || {{ echo 'the dead-man timer did not start' >&2; exit 3; }}\n\
         \x20 fi\n\
         \x20 now=$(date +%s)\n\
         \x20 printf '%s %s %s\\n' {run} \"$now\" \"$((now + secs + 300))\" >{lock}/owner.tmp && mv {lock}/owner.tmp {lock}/owner\n\
         \x20 printf 'armed\\t%s\\n' \"$((now + secs))\"\n\
         \x20 ;;\n\
         timer)\n\
         \x20 echo $$ >\"$B/timer.pid.tmp\" && mv \"$B/timer.pid.tmp\" \"$B/timer.pid\"\n\
         \x20 sleep \"$2\"\n\
         \x20 sfx_decide timer || exit 0\n\
         \x20 {{ sfx_restore; }} >\"$B/restored\" 2>&1 || sfx_restore >/dev/null 2>&1\n\
         \x20 sfx_release\n\
         \x20 ;;\n\
         confirm)\n\
         \x20 if sfx_decide confirmed; then sfx_stop_timer; sfx_release; echo confirmed; else printf 'decided\\t%s\\n' \"$(cat \"$B/decided/by\" 2>/dev/null)\"; fi\n\
         \x20 ;;\n\
         now)\n\
         \x20 if sfx_decide revert; then\n\
         \x20   sfx_stop_timer\n\
         \x20   if {{ sfx_restore; }} >\"$B/restored\" 2>&1; then cat \"$B/restored\"; else sfx_restore; fi\n\
         \x20   sfx_release\n\
         \x20 else\n\
         \x20   by=$(cat \"$B/decided/by\" 2>/dev/null)\n\
         \x20   printf 'decided\\t%s\\n' \"$by\"\n\
         \x20   n=0; while ! grep -q '^done' \"$B/restored\" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1 2>/dev/null || sleep 1; n=$((n+1)); done\n\
         \x20   cat \"$B/restored\" 2>/dev/null\n\
         \x20 fi\n\
         \x20 ;;\n\
         rollback)\n\
         \x20 if {{ sfx_restore; }} >\"$B/rolled-back\" 2>&1; then cat \"$B/rolled-back\"; else sfx_restore; fi\n\
         \x20 ;;\n\
         *) echo 'usage: sh restore.sh now|rollback|confirm|arm SECS|timer SECS' >&2; exit 2 ;;\n\
         esac\n",
        lock = LOCK_DIR,
        run = q(&spec.run_id, "run id")?,
    ));
    Ok(s)
}

/// Runs `restore.sh` with its arguments (arm/confirm/now/rollback).
pub fn run_restore(spec: &HostSpec, args: &str) -> Result<String, SpecError> {
    Ok(header(spec)? + &format!("exec /bin/sh \"$B/restore.sh\" {args}\n"))
}

/// For rollback: makes sure the backup directory holds `restore.sh`
/// (stdin) and the `ran` markers of the steps that ran, and prints
/// `have\tI\tSHA|missing` for each backup copy.
pub fn rollback_prepare(spec: &HostSpec) -> Result<String, SpecError> {
    let mut s = header(spec)?;
    s.push_str(&format!(
        "mkdir -p {BACKUP_ROOT} \"$B/files\" \"$B/ran\" && chmod 0700 {BACKUP_ROOT} \"$B\" || {{ echo \"cannot create $B\" >&2; exit 3; }}\n\
         cat >\"$B/restore.sh.tmp\" && chmod 0700 \"$B/restore.sh.tmp\" && mv -f \"$B/restore.sh.tmp\" \"$B/restore.sh\" || {{ echo \"cannot write $B/restore.sh\" >&2; exit 3; }}\n"
    ));
    s.push_str("if grep -qs '^done' \"$B/restored\" \"$B/rolled-back\"; then echo 'undone\t1'; else echo 'undone\t0'; fi\n");
    for (k, st) in spec.steps.iter().enumerate() {
        let ran = matches!(
            st,
            SpecStep::Command { ran: true, .. } | SpecStep::File { ran: true, .. }
        );
        if ran {
            s.push_str(&format!("touch \"$B/ran/{k}\"\n"));
        }
    }
    for (i, f) in spec.files.iter().enumerate() {
        let p = q(&f.path, "path")?;
        s.push_str(&format!(
            "if [ -f \"$B/files/{i}\" ]; then printf 'have\\t{i}\\t%s\\n' \"$(sfx_sha \"$B/files/{i}\")\"; else printf 'have\\t{i}\\tmissing\\n'; fi\n\
             if [ -f {p} ]; then printf 'now\\t{i}\\t%s\\n' \"$(sfx_sha {p})\"; else printf 'now\\t{i}\\tmissing\\n'; fi\n"
        ));
    }
    Ok(s)
}

/// Writes a backup copy (stdin) into the backup directory (rollback, when the
/// host lost it).
pub fn put_backup(spec: &HostSpec, i: usize) -> Result<String, SpecError> {
    Ok(header(spec)?
        + &format!(
            "cat >\"$B/files/{i}.tmp\" && mv -f \"$B/files/{i}.tmp\" \"$B/files/{i}\" || {{ echo \"cannot write $B/files/{i}\" >&2; exit 3; }}\n"
        ))
}

/// One reply line split into its tab-separated fields.
pub fn fields(line: &str) -> Vec<&str> {
    line.split('\t').collect()
}

/// The reply lines whose first field is `tag`, split.
pub fn tagged<'a>(out: &'a str, tag: &str) -> Vec<Vec<&'a str>> {
    out.lines()
        .map(fields)
        .filter(|f| f.first() == Some(&tag))
        .collect()
}

/// Parses `MODE\tUID\tGID\tDIR\tCTX` fields (as [`prepare`] prints them).
pub fn parse_attrs(f: &[&str]) -> Option<Attrs> {
    let mode = f.first()?;
    let mode = if mode.len() < 4 {
        format!("{:0>4}", mode)
    } else {
        mode.to_string()
    };
    Some(Attrs {
        mode,
        uid: f.get(1)?.parse().ok()?,
        gid: f.get(2)?.parse().ok()?,
        is_dir: *f.get(3)? == "1",
        context: f
            .get(4)
            .filter(|c| **c != "-" && !c.is_empty())
            .map(|c| c.to_string()),
    })
}

/// Whether `sshd -T` output (lines `keyword value`) shows every expected pair.
/// Returns the pairs it does not show.
pub fn missing_expectations(sshd_t: &str, expect: &[(String, String)]) -> Vec<(String, String)> {
    expect
        .iter()
        .filter(|(k, v)| {
            !sshd_t.lines().any(|l| {
                let mut it = l.trim().splitn(2, ' ');
                let key = it.next().unwrap_or("");
                let val = it.next().unwrap_or("").trim();
                key.eq_ignore_ascii_case(k) && val.eq_ignore_ascii_case(v.trim())
            })
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
