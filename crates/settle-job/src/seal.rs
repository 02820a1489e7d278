//! Sealing a run: an optional ed25519 signature of `manifest.json` (`manifest.json.sig`), and
//! `settle verify`, which checks a run directory against its manifest: the root hash, every output's
//! bytes and hash, every archived input, and the signature when a public key is given.
//!
//! Keys are what `openssl genpkey -algorithm ed25519` writes (PKCS#8 PEM) and `openssl pkey -pubout`
//! derives (SubjectPublicKeyInfo PEM), or 64 hex digits (the 32-byte seed, or the public key).

use std::fs;
use std::path::Path;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::pipeline::JobError;

/// The signature's file name in the run directory.
pub const SIGNATURE: &str = "manifest.json.sig";

fn key_error(path: &Path, message: &str) -> JobError {
    JobError::Key { path: path.display().to_string(), message: message.to_string() }
}

/// The bytes of a PEM block labelled `label`, or None when the text is not PEM.
fn pem(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = text.split(&begin).nth(1)?.split(&end).next()?;
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("masked to a byte"));
        }
    }
    Some(out)
}

fn hex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A signing key read from `path`.
pub struct SigningKey(Ed25519KeyPair);

impl SigningKey {
    pub fn read(path: &Path) -> Result<SigningKey, JobError> {
        let text = fs::read_to_string(path).map_err(|e| key_error(path, &e.to_string()))?;
        let pair = if let Some(der) = pem(&text, "PRIVATE KEY") {
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
                .map_err(|e| key_error(path, &format!("not an ed25519 PKCS#8 key: {e}")))?
        } else if let Some(seed) = hex32(&text) {
            Ed25519KeyPair::from_seed_unchecked(&seed).map_err(|e| key_error(path, &e.to_string()))?
        } else {
            return Err(key_error(
                path,
                "expected an ed25519 private key: PKCS#8 PEM (openssl genpkey -algorithm ed25519) or 64 hex digits",
            ));
        };
        Ok(SigningKey(pair))
    }

    /// The signature of `bytes`, as the signature file holds it (hex, one line).
    pub fn sign(&self, bytes: &[u8]) -> String {
        format!("{}\n", crate::archive::hex(self.0.sign(bytes).as_ref()))
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        crate::archive::hex(self.0.public_key().as_ref())
    }
}

/// A public key read from `path`: SubjectPublicKeyInfo PEM or 64 hex digits.
pub fn read_public_key(path: &Path) -> Result<[u8; 32], JobError> {
    let text = fs::read_to_string(path).map_err(|e| key_error(path, &e.to_string()))?;
    if let Some(der) = pem(&text, "PUBLIC KEY") {
        // SubjectPublicKeyInfo of ed25519: a 12-byte header (algorithm 1.3.101.112), then the 32 bytes.
        const HEADER: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        if der.len() == 44 && der[..12] == HEADER {
            let mut key = [0u8; 32];
            key.copy_from_slice(&der[12..]);
            return Ok(key);
        }
        return Err(key_error(path, "not an ed25519 public key (SubjectPublicKeyInfo)"));
    }
    hex32(&text)
        .ok_or_else(|| key_error(path, "expected an ed25519 public key: PEM (openssl pkey -pubout) or 64 hex digits"))
}

/// One thing `verify` found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub what: String,
}

/// What is wrong with a manifest's `root_sha256` (the hash of the manifest without it), or None when it
/// holds; `manifest` loses the field on the way (put back by none of the callers, which only read on).
pub(crate) fn root_problem(path: &Path, manifest: &mut serde_json::Value) -> Result<Option<String>, JobError> {
    let recorded_root = manifest["root_sha256"].as_str().map(str::to_string);
    if let Some(object) = manifest.as_object_mut() {
        object.remove("root_sha256");
    }
    let canonical = settle_report::render_json(manifest)
        .map_err(|e| JobError::Replay { message: format!("{}: {e}", path.display()) })?;
    let root = crate::archive::hex(&Sha256::digest(&canonical));
    Ok(match recorded_root {
        None => Some("manifest.json has no root_sha256".to_string()),
        Some(r) if r != root => Some(format!("manifest.json: root_sha256 {r}, its content hashes to {root}")),
        Some(_) => None,
    })
}

/// A run directory as given on the command line (`.`, `./`, `2026-10-31` from inside `runs/demo`),
/// made absolute and free of `.` and `..`, so its parents are the job and output root directories.
pub(crate) fn run_dir_path(run_dir: &Path) -> Result<std::path::PathBuf, JobError> {
    fs::canonicalize(run_dir).map_err(|source| JobError::InputIo {
        path: run_dir.display().to_string(),
        role: "run directory",
        source,
    })
}

/// Checks `run_dir` against its manifest (see the module docs); `public_key`: also check the signature.
/// Returns the problems found (none: the run is intact).
pub fn verify(run_dir: &Path, public_key: Option<&[u8; 32]>) -> Result<Vec<Problem>, JobError> {
    let run_dir = &run_dir_path(run_dir)?;
    let (manifest_path, bytes, mut manifest) = crate::replay::read_manifest(run_dir)?;
    let mut problems = Vec::new();
    let mut problem = |what: String| problems.push(Problem { what });
    if let Some(key) = public_key {
        match fs::read_to_string(run_dir.join(SIGNATURE)) {
            Err(_) => problem(format!("{SIGNATURE} is missing: the run is not signed")),
            Ok(text) => {
                let signature: Option<Vec<u8>> = (0..text.trim().len() / 2)
                    .map(|i| text.trim().get(2 * i..2 * i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                let valid = signature.is_some_and(|s| UnparsedPublicKey::new(&ED25519, key).verify(&bytes, &s).is_ok());
                if !valid {
                    problem(format!("{SIGNATURE}: the signature does not match manifest.json and the public key"));
                }
            }
        }
    }
    if let Some(what) = root_problem(&manifest_path, &mut manifest)? {
        problem(what);
    }
    for output in manifest["outputs"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(path), Some(sha)) = (output["path"].as_str(), output["sha256"].as_str()) else { continue };
        match fs::read(run_dir.join(path)) {
            Err(_) => problem(format!("{path} is missing")),
            Ok(bytes) => {
                let found = crate::archive::hex(&Sha256::digest(&bytes));
                if found != sha {
                    problem(format!("{path}: sha256 {found}, the manifest says {sha}"));
                }
            }
        }
    }
    let archive_root = run_dir.parent().and_then(Path::parent).unwrap_or(run_dir);
    let spec = (manifest["job"]["spec_sha256"].as_str(), manifest["job"]["spec_file"].as_str());
    let inputs = manifest["inputs"].as_array().map(Vec::as_slice).unwrap_or_default();
    let archived = inputs
        .iter()
        .filter_map(|i| Some((i["role"].as_str()?, i["path"].as_str()?, i["sha256"].as_str()?)))
        .chain(match spec {
            (Some(sha), Some(file)) => Some(("job spec", file, sha)),
            _ => None,
        });
    for (role, path, sha) in archived {
        if let Err(e) = crate::archive::load(archive_root, sha, role, path) {
            problem(e.to_string());
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openssl_keys_and_signs() {
        // `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` of the RFC 8032 test 1 key.
        let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keys");
        let (private, public) = (keys.join("rfc8032-test1.pem"), keys.join("rfc8032-test1.pub"));
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::read(&private).unwrap();
        assert_eq!(key.public_hex(), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        assert_eq!(crate::archive::hex(&read_public_key(&public).unwrap()), key.public_hex());
        // RFC 8032 test 1: the empty message.
        assert!(key.sign(b"").starts_with("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"));
        let hex_seed = dir.path().join("seed.hex");
        fs::write(&hex_seed, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n").unwrap();
        assert_eq!(SigningKey::read(&hex_seed).unwrap().public_hex(), key.public_hex());
        fs::write(&hex_seed, "not a key").unwrap();
        assert!(SigningKey::read(&hex_seed).is_err());
    }
}
