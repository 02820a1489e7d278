//! Records the commit settle is built from (`SETTLE_BUILD_COMMIT`, written into every run's manifest);
//! absent when the source is not a git checkout.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SETTLE_BUILD_COMMIT");
    if std::env::var_os("SETTLE_BUILD_COMMIT").is_some() {
        return;
    }
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = std::path::Path::new(&dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(head) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(head).display());
        }
    }
    if let Some(commit) = git(&["rev-parse", "HEAD"]).filter(|c| c.len() == 40) {
        println!("cargo:rustc-env=SETTLE_BUILD_COMMIT={commit}");
    }
}
