//! A host built from a captured facts-script run (`tests/fixtures/facts/frames/`):
//! the frames, the facts the model derives from them, the files they hold, and
//! a fix-module [`Host`] over all of it. Shared by the tests of the fix
//! modules and of plans (`#[path = "common/captured.rs"] mod captured;`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use sshfix::facts::frame::{self, Frames};
use sshfix::facts::model::{self, HostFacts};
use sshfix::facts::script::ITEM_CAP;
use sshfix::modules::Host;

/// The marker the captures were made with (`tests/fixtures/facts/frames/capture.sh`).
pub const MARKER: &str = "sshfix-fixture-0123456789abcdef";

/// The frames of capture `name` (`tests/fixtures/facts/frames/NAME.out`).
pub fn frames(name: &str) -> Frames {
    let path = format!(
        "{}/tests/fixtures/facts/frames/{name}.out",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    frame::parse(&bytes, MARKER, ITEM_CAP).unwrap()
}

/// Frames with their facts (port 22, no server address) and files.
pub struct Built {
    pub frames: Frames,
    pub facts: HostFacts,
    pub files: BTreeMap<String, Vec<u8>>,
    pub clients: Vec<IpAddr>,
}

impl Built {
    /// `frames` seen by `clients` (addresses).
    pub fn new(frames: Frames, clients: &[&str]) -> Built {
        let clients: Vec<IpAddr> = clients.iter().map(|a| a.parse().unwrap()).collect();
        let facts = model::build(
            &frames,
            &model::Input {
                port: 22,
                clients: &clients,
                server_addr: None,
            },
        );
        let files = model::files_map(&frames);
        Built {
            frames,
            facts,
            files,
            clients,
        }
    }

    /// Host `h`, port 22, the files as gathered.
    pub fn host(&self) -> Host<'_> {
        Host {
            name: "h",
            facts: &self.facts,
            frames: &self.frames,
            files: &self.files,
            gathered: &self.files,
            port: 22,
            clients: &self.clients,
        }
    }
}
