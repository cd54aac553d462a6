//! template.yaml as CloudFormation deploys it: after SAM's transform.
//!
//! [`transformed_template`] runs `scripts/transform-template.py` with the
//! pinned aws-sam-translator of the SAM virtualenv (`ACCOUNTS_SAM_VENV`,
//! default `.venv-sam`; `scripts/test.sh` installs it), offline, once per
//! test binary, and returns the result; the same JSON is left in
//! `target/template.transformed.json`. Without the translator it panics: a
//! deployment test that cannot run has failed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The parameter values the transform is given, as CloudFormation would
/// give them at deploy time.
pub const TRANSFORM_PARAMETERS: [(&str, &str); 1] = [(
    "CorsAllowedOrigins",
    "https://app.example.com,https://admin.example.com",
)];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The transformed template (see the module documentation).
pub fn transformed_template() -> &'static Value {
    static TRANSFORMED: OnceLock<Value> = OnceLock::new();
    TRANSFORMED.get_or_init(transform)
}

fn transform() -> Value {
    let root = workspace_root();
    let venv = std::env::var_os("ACCOUNTS_SAM_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-sam"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "no SAM virtualenv at {} (set ACCOUNTS_SAM_VENV, or run scripts/sam-venv.sh, \
         or scripts/test.sh, which installs it)",
        venv.display()
    );
    // One file per binary: test binaries run at the same time.
    let output = root
        .join("target")
        .join(format!("template.transformed.{}.json", std::process::id()));
    let mut command = Command::new(&python);
    command.arg(root.join("scripts/transform-template.py"));
    for (key, value) in TRANSFORM_PARAMETERS {
        command.arg("--parameter").arg(format!("{key}={value}"));
    }
    command.arg(root.join("template.yaml")).arg(&output);
    let run = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        run.status.success(),
        "scripts/transform-template.py failed ({}):\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&output)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", output.display()));
    // Left for other tools under one stable name; a rename is atomic.
    std::fs::rename(&output, root.join("target/template.transformed.json"))
        .expect("cannot move the transformed template into place");
    serde_json::from_str(&text).expect("the transformed template is not JSON")
}
