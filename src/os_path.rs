//! Paths in JSON as Linux has them: any bytes but NUL. A name that is not UTF-8 (old
//! libraries hold Latin-1 names) is written as its bytes (`[99, 97, 102, 233]`) where it must
//! come back exactly (the job's manifest, a request), and shown with U+FFFD in its place where
//! it is only read (a status). Pure.

use serde::{Deserialize, Deserializer, Serializer};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(untagged)]
enum Spelled {
    Text(String),
    Bytes(Vec<u8>),
}

impl From<Spelled> for PathBuf {
    fn from(s: Spelled) -> PathBuf {
        match s {
            Spelled::Text(t) => PathBuf::from(t),
            Spelled::Bytes(b) => PathBuf::from(std::ffi::OsString::from_vec(b)),
        }
    }
}

/// Writes a path as a string, or as its bytes when it is not UTF-8.
pub(crate) fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    match path.to_str() {
        Some(text) => s.serialize_str(text),
        None => s.collect_seq(path.as_os_str().as_bytes()),
    }
}

/// Reads what [`serialize`] writes.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    Spelled::deserialize(d).map(PathBuf::from)
}

/// [`serialize`] and [`deserialize`] for an optional path.
pub(crate) mod option {
    use super::*;

    /// Writes `None` as null, a path as [`super::serialize`] does.
    pub(crate) fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        match path {
            Some(p) => super::serialize(p, s),
            None => s.serialize_none(),
        }
    }

    /// Reads what [`serialize`] writes.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Option::<Spelled>::deserialize(d).map(|o| o.map(PathBuf::from))
    }
}

/// Writes a path for reading only: U+FFFD where it is not UTF-8.
pub(crate) fn lossy<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

/// [`lossy`] for an optional path.
pub(crate) fn lossy_option<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match path {
        Some(p) => lossy(p, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Kept {
        #[serde(with = "super")]
        path: PathBuf,
        #[serde(with = "super::option", default)]
        maybe: Option<PathBuf>,
    }

    #[derive(Serialize)]
    struct Shown {
        #[serde(serialize_with = "super::lossy")]
        path: PathBuf,
    }

    #[test]
    fn paths_round_trip_whatever_their_bytes_and_show_lossily() {
        let latin1 = PathBuf::from(std::ffi::OsString::from_vec(b"/films/caf\xe9.mkv".to_vec()));
        for (path, maybe) in [(PathBuf::from("/films/café.mkv"), None), (latin1.clone(), Some(latin1.clone()))] {
            let kept = Kept { path, maybe };
            let json = serde_json::to_string(&kept).unwrap();
            assert_eq!(serde_json::from_str::<Kept>(&json).unwrap(), kept, "{json}");
        }
        let json = serde_json::to_string(&Kept { path: PathBuf::from("/a b"), maybe: None }).unwrap();
        assert_eq!(json, r#"{"path":"/a b","maybe":null}"#, "UTF-8 paths stay strings");
        let old: Kept = serde_json::from_str(r#"{"path":"/x.mkv"}"#).unwrap();
        assert_eq!(old.maybe, None, "manifests written before keep reading");
        let shown = serde_json::to_string(&Shown { path: latin1 }).unwrap();
        assert_eq!(shown, "{\"path\":\"/films/caf\u{fffd}.mkv\"}");
    }
}
