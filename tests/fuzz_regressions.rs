//! The fuzz targets as regression tests: every committed corpus input
//! (`fuzz/corpus/NAME/`) and every input that once crashed a target
//! (`fuzz/regressions/NAME/`) runs through its target body
//! (`fuzz/targets.rs`) in the normal `cargo test`, without libFuzzer.
//!
//! Fails when a target has no corpus (it would test nothing), when a corpus
//! or regression directory names no target, or when any input panics (all
//! failing files are named). Long fuzzing is `scripts/fuzz.sh`.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir` (sorted), or `None` when it does not exist.
fn inputs(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    Some(v)
}

/// Subdirectories of `dir` (none when it does not exist).
fn subdirs(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_target_has_a_corpus_and_every_directory_a_target() {
    let names: BTreeSet<&str> = targets::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names.len(), targets::TARGETS.len(), "a target name twice");
    let mut problems = Vec::new();
    for (name, _) in targets::TARGETS {
        match inputs(&fuzz_dir().join("corpus").join(name)) {
            None => problems.push(format!("target `{name}` has no fuzz/corpus/{name}/")),
            Some(v) if v.is_empty() => {
                problems.push(format!("fuzz/corpus/{name}/ is empty"));
            }
            Some(_) => {}
        }
        // a fuzz binary per target, so `cargo fuzz` knows it
        let bin = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        if !bin.is_file() {
            problems.push(format!("target `{name}` has no {}", bin.display()));
        }
    }
    for kind in ["corpus", "regressions"] {
        for d in subdirs(&fuzz_dir().join(kind)) {
            if !names.contains(d.as_str()) {
                problems.push(format!(
                    "fuzz/{kind}/{d}/ names no target in fuzz/targets.rs"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let mut failed = Vec::new();
    let mut total = 0;
    for (name, body) in targets::TARGETS {
        let mut counts = Vec::new();
        for kind in ["corpus", "regressions"] {
            let files = inputs(&fuzz_dir().join(kind).join(name)).unwrap_or_default();
            counts.push(files.len());
            for f in files {
                let data = std::fs::read(&f).unwrap();
                if std::panic::catch_unwind(|| body(&data)).is_err() {
                    failed.push(f.display().to_string());
                }
            }
        }
        total += counts.iter().sum::<usize>();
        eprintln!(
            "fuzz target {name:<16} {:>4} corpus inputs, {:>3} regressions",
            counts[0], counts[1]
        );
    }
    eprintln!("{total} inputs in all");
    assert!(
        failed.is_empty(),
        "inputs that fail their target:\n{}",
        failed.join("\n")
    );
}
