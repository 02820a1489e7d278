//! Channel reports and profiled bank CSVs in a job: choosing the profile (built-in, a file, or by the
//! header) and reading the file with it.

use std::path::Path;

use settle_tabular::{Profile, ProfileError, ProfiledRead, RecordKind, TabularError, builtin_profiles};

/// Why a profiled input could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfiledError {
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Input(#[from] TabularError),
    #[error("cannot read profile {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "{path}: unknown profile {name:?}: expected `auto`, a built-in profile ({known}) or a profile file ending in .toml"
    )]
    Unknown { path: String, name: String, known: String },
    #[error("{path}: profile {profile} makes {found}, but this input takes {expected}")]
    WrongRecord { path: String, profile: String, found: &'static str, expected: &'static str },
}

/// The profile a job (or `--profile`) names: a built-in name, `auto`, or a file relative to `base`.
pub fn resolve(base: &Path, input: &str, name: &str) -> Result<Option<Profile>, ProfiledError> {
    if name == "auto" {
        return Ok(None);
    }
    if name.ends_with(".toml") {
        let path = base.join(name);
        let text = crate::fault::read_to_string(&path)
            .map_err(|source| ProfiledError::Io { path: path.display().to_string(), source })?;
        return Ok(Some(Profile::from_toml(&path.display().to_string(), &text)?));
    }
    let profiles = builtin_profiles();
    match profiles.iter().find(|p| p.name == name) {
        Some(p) => Ok(Some(p.clone())),
        None => Err(ProfiledError::Unknown {
            path: input.to_string(),
            name: name.to_string(),
            known: profiles.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Reads `bytes` with `profile`, or with the built-in profile its header fits; with `keep`, only the
/// channel rows it keeps in full (`settle_tabular::read_shard_with_profile`).
pub fn read(
    name: &str,
    bytes: &[u8],
    profile: Option<&Profile>,
    expected: RecordKind,
    keep: Option<settle_tabular::Keep<'_>>,
) -> Result<ProfiledRead, ProfiledError> {
    let builtin;
    let profile = match profile {
        Some(p) => p,
        None => {
            builtin = builtin_profiles();
            let candidates: Vec<&Profile> = builtin.iter().filter(|p| p.record == expected).collect();
            settle_tabular::detect_profile(name, bytes, &candidates)?
        }
    };
    if profile.record != expected {
        return Err(ProfiledError::WrongRecord {
            path: name.to_string(),
            profile: profile.name.clone(),
            found: profile.record.as_str(),
            expected: expected.as_str(),
        });
    }
    Ok(match keep {
        Some(keep) => settle_tabular::read_shard_with_profile(name, bytes, profile, keep)?,
        None => settle_tabular::read_with_profile(name, bytes, profile)?,
    })
}

/// Reads files with `profile` (or the profile each one's header fits) in parallel (rayon), each file
/// also in chunks when large. Results in the order of `files`; the first error in that order stops.
pub fn read_files(
    files: &[(String, &Path)],
    profile: Option<&Profile>,
    expected: RecordKind,
) -> Result<Vec<ProfiledRead>, ReadFileError> {
    use rayon::prelude::*;
    files
        .par_iter()
        .map(|(name, path)| {
            let bytes = crate::fault::read(path)
                .map_err(|source| ReadFileError::Io { path: name.clone(), message: source.to_string() })?;
            read(name, &bytes, profile, expected, None).map_err(ReadFileError::Read)
        })
        .collect()
}

/// Why `read_files` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    #[error(transparent)]
    Read(#[from] ProfiledError),
}
