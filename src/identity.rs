//! Whether a source file is still the one a job was made from. Media managers upgrade files by
//! writing a new one and renaming it over the old (a new inode, often the old mtime kept), and
//! a job that went on encoding would mix two videos in one timeline. The identity is the file's
//! size, mtime and inode and a hash of its first and last MiB: cheap to read again before every
//! encoder run and before the file is saved.

use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes hashed at each end of the file.
const END: u64 = 1 << 20;

/// A source file as it was when a job was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceIdentity {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i128,
    /// Inode number (a file renamed over it has another).
    pub inode: u64,
    /// SHA-256 of the first and the last MiB, hex.
    pub ends: String,
}

impl SourceIdentity {
    /// Reads a file's identity.
    pub fn of(path: &Path) -> std::io::Result<SourceIdentity> {
        let mut f = std::fs::File::open(path)?;
        let m = f.metadata()?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; END.min(m.len()) as usize];
        f.read_exact(&mut buf)?;
        hasher.update(&buf);
        if m.len() > END {
            f.seek(SeekFrom::Start(m.len().saturating_sub(END).max(END)))?;
            let mut tail = Vec::new();
            f.take(END).read_to_end(&mut tail)?;
            hasher.update(&tail);
        }
        Ok(SourceIdentity {
            size: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            inode: m.ino(),
            ends: hex::encode(hasher.finalize()),
        })
    }

    /// Whether `path` still holds the same bytes as far as its size and ends tell (a copy or a
    /// move keeps them; truncation or corruption at either end does not).
    pub fn same_bytes(&self, path: &Path) -> bool {
        SourceIdentity::of(path).is_ok_and(|now| now.size == self.size && now.ends == self.ends)
    }

    /// What changed between this identity and the file as it is now, if anything.
    pub fn changed(&self, path: &Path) -> Option<String> {
        match SourceIdentity::of(path) {
            Err(e) => Some(format!("the source cannot be read any more: {e}")),
            Ok(now) if now == *self => None,
            Ok(now) => {
                let what = if now.inode != self.inode {
                    "was replaced by another file"
                } else if now.size != self.size {
                    "changed size"
                } else if now.ends != self.ends {
                    "changed content"
                } else {
                    "was modified"
                };
                Some(format!("the source {what} while it was being upscaled"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_written_again_or_replaced_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("movie.mkv");
        std::fs::write(&p, vec![7u8; 3 << 20]).unwrap();
        let id = SourceIdentity::of(&p).unwrap();
        assert_eq!(id.changed(&p), None);
        // The same size and time, another last MiB: a hash of the ends sees it.
        let mut bytes = vec![7u8; 3 << 20];
        bytes[(3 << 20) - 10] = 1;
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &bytes[(3 << 20) - 10..], (3 << 20) - 10).unwrap();
        f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_nanos(id.mtime_ns as u64)).unwrap();
        assert!(id.changed(&p).unwrap().contains("changed content"));
        // A new file renamed over it.
        let other = dir.path().join("upgrade.mkv");
        std::fs::write(&other, vec![7u8; 3 << 20]).unwrap();
        std::fs::rename(&other, &p).unwrap();
        assert!(id.changed(&p).unwrap().contains("replaced"));
        std::fs::remove_file(&p).unwrap();
        assert!(id.changed(&p).unwrap().contains("cannot be read"));
    }
}
