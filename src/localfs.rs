//! Local files: which paths the server may read for uploads and write for downloads.
//!
//! An agent can name any path, so every path is canonicalised (symlinks resolved) and must
//! fall inside a directory the operator allowed with `--allow-dir` or
//! `MISTRAL_MCP_ALLOWED_DIRS`. With no directory allowed, local paths are refused with a
//! message that says how to allow one; base64 content always works. A download target is
//! reserved before the upstream call ([`SaveTarget`]): created new beneath the opened
//! allowed directory and written only through that handle, streamed chunk by chunk.

use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use bytes::Bytes;
use cap_std::fs::{Dir, OpenOptions};
use futures::{Stream, StreamExt};
use tokio::io::AsyncWriteExt;

use crate::config::FilesConfig;
use crate::error::ToolError;
use crate::mistral::UpstreamError;

#[derive(Debug, Clone)]
pub struct LocalFiles {
    allowed_dirs: Vec<PathBuf>,
    pub max_upload_bytes: u64,
    pub max_inline_bytes: u64,
}

/// A file read for upload.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub file_name: String,
    pub mime: String,
    pub bytes: Bytes,
}

impl LocalFiles {
    pub fn new(cfg: &FilesConfig) -> Self {
        Self {
            allowed_dirs: cfg.allowed_dirs.clone(),
            max_upload_bytes: cfg.max_upload_bytes,
            max_inline_bytes: cfg.max_inline_bytes,
        }
    }

    fn not_allowed(&self, path: &Path) -> ToolError {
        if self.allowed_dirs.is_empty() {
            ToolError::NotAllowed(format!(
                "Local file access is off, so {} cannot be used. The server operator can allow \
                 a directory with --allow-dir <dir> or MISTRAL_MCP_ALLOWED_DIRS=<dir>; \
                 otherwise pass the content as base64 (content_base64) or a URL.",
                path.display()
            ))
        } else {
            let dirs: Vec<String> = self
                .allowed_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect();
            ToolError::NotAllowed(format!(
                "{} is outside the directories this server may use ({}). Use a path inside \
                 one of them, or pass the content as base64.",
                path.display(),
                dirs.join(", ")
            ))
        }
    }

    /// The allowed directory a canonical path lies in, and the path beneath it.
    fn allowed_root(&self, canonical: &Path) -> Option<(PathBuf, PathBuf)> {
        self.allowed_dirs.iter().find_map(|dir| {
            let beneath = canonical.strip_prefix(dir).ok()?;
            Some((dir.clone(), beneath.to_path_buf()))
        })
    }

    /// Reads a file an agent asked to upload. The file is opened beneath the allowed
    /// directory it resolved into, and checked and read through that one handle, so a path
    /// swapped for a symlink after the check cannot make it read something outside.
    pub async fn read(&self, path: &str) -> Result<LoadedFile, ToolError> {
        let requested = PathBuf::from(path);
        if self.allowed_dirs.is_empty() {
            return Err(self.not_allowed(&requested));
        }
        let canonical = tokio::fs::canonicalize(&requested).await.map_err(|e| {
            ToolError::LocalFile(format!(
                "Cannot open {}: {e}. Check the path.",
                requested.display()
            ))
        })?;
        let Some((allowed, beneath)) = self.allowed_root(&canonical) else {
            return Err(self.not_allowed(&requested));
        };
        let limit = self.max_upload_bytes;
        let shown = requested.display().to_string();
        let bytes = tokio::task::spawn_blocking(move || read_beneath(&allowed, &beneath, limit))
            .await
            .map_err(|e| ToolError::Internal(format!("reading an upload: {e}")))?
            .map_err(|e| match e {
                ReadRefusal::NotAFile => {
                    ToolError::LocalFile(format!("{shown} is not a regular file"))
                }
                ReadRefusal::TooLarge(size) => ToolError::LocalFile(format!(
                    "{shown} is {size} bytes, over the upload limit of {limit} bytes"
                )),
                ReadRefusal::Io(e) => ToolError::LocalFile(format!("Cannot read {shown}: {e}")),
            })?;
        let file_name = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "upload".to_string());
        Ok(LoadedFile {
            mime: mime_for(&file_name),
            file_name,
            bytes: Bytes::from(bytes),
        })
    }

    /// Reserves the file a download will be written to, before anything is asked of
    /// Mistral: the whole path is validated, its parent must resolve inside an allowed
    /// directory, and the file is created there new (never overwriting, never through a
    /// symlink). Everything after writes through the returned handle, so nothing done to
    /// the path while the download runs can redirect the bytes.
    pub async fn reserve(&self, path: &str) -> Result<SaveTarget, ToolError> {
        let (parent, name) = split_save_path(path)?;
        if self.allowed_dirs.is_empty() {
            return Err(self.not_allowed(Path::new(path)));
        }
        let parent = tokio::fs::canonicalize(&parent).await.map_err(|e| {
            ToolError::LocalFile(format!(
                "Directory {} does not exist: {e}. Create it first or save somewhere else.",
                parent.display()
            ))
        })?;
        let Some((allowed, beneath)) = self.allowed_root(&parent) else {
            return Err(self.not_allowed(Path::new(path)));
        };
        let shown = parent.join(&name);
        let opened = tokio::task::spawn_blocking({
            let name = name.clone();
            move || create_new_beneath(&allowed, &beneath, &name)
        })
        .await
        .map_err(|e| ToolError::Internal(format!("reserving a save path: {e}")))?;
        let (dir, file, identity) = opened.map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => ToolError::LocalFile(format!(
                "{} already exists; choose another path (files are never overwritten)",
                shown.display()
            )),
            _ => ToolError::LocalFile(format!(
                "Cannot create {}: {e}. Use a writable path inside the allowed directories.",
                shown.display()
            )),
        })?;
        Ok(SaveTarget {
            shown,
            dir,
            name,
            file: Some(tokio::fs::File::from_std(file)),
            identity,
            kept: false,
        })
    }
}

/// Splits a `save_to` path into its parent directory and file name, refusing what cannot
/// name a new file: empty paths, NUL bytes, a trailing separator, `.` or `..` at the end.
fn split_save_path(path: &str) -> Result<(PathBuf, OsString), ToolError> {
    let invalid = |why: &str| {
        ToolError::InvalidArguments(format!(
            "`save_to` {why}; give the path of a new file inside the server's allowed \
             directories, for example <allowed dir>/result.bin"
        ))
    };
    if path.trim().is_empty() {
        return Err(invalid("is empty"));
    }
    if path.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    // `Path` drops a trailing `/` or `/.`, so the last segment is judged on the raw text.
    let is_separator = |c: char| c == '/' || (cfg!(windows) && c == '\\');
    let last_segment = path.rsplit(is_separator).next().unwrap_or_default();
    let requested = Path::new(path);
    let name = match requested.components().next_back() {
        Some(Component::Normal(name)) if !matches!(last_segment, "" | "." | "..") => {
            name.to_os_string()
        }
        _ => return Err(invalid("names a directory, not a file")),
    };
    let parent = match requested.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Opens `allowed` once and creates `name` new in `beneath` under it. Every component is
/// resolved beneath the opened directory (a symlink leading outside fails), and the file
/// itself is created exclusively, so an existing file or symlink there is never opened.
fn create_new_beneath(
    allowed: &Path,
    beneath: &Path,
    name: &OsStr,
) -> std::io::Result<(Dir, std::fs::File, FileIdentity)> {
    let root = Dir::open_ambient_dir(allowed, cap_std::ambient_authority())?;
    let dir = if beneath.as_os_str().is_empty() {
        root
    } else {
        root.open_dir(beneath)?
    };
    let file = dir.open_with(name, OpenOptions::new().write(true).create_new(true))?;
    let identity = FileIdentity::of(&file.metadata()?);
    Ok((dir, file.into_std(), identity))
}

/// Why a local file could not be read for upload.
enum ReadRefusal {
    NotAFile,
    TooLarge(u64),
    Io(std::io::Error),
}

/// Opens `allowed` once and reads the regular file at `beneath` under it (symlinks leading
/// outside fail), refusing more than `limit` bytes even if the file grows while read.
fn read_beneath(allowed: &Path, beneath: &Path, limit: u64) -> Result<Vec<u8>, ReadRefusal> {
    use std::io::Read;
    let root =
        Dir::open_ambient_dir(allowed, cap_std::ambient_authority()).map_err(ReadRefusal::Io)?;
    let beneath = if beneath.as_os_str().is_empty() {
        Path::new(".")
    } else {
        beneath
    };
    let file = root.open(beneath).map_err(ReadRefusal::Io)?;
    let meta = file.metadata().map_err(ReadRefusal::Io)?;
    if !meta.is_file() {
        return Err(ReadRefusal::NotAFile);
    }
    if meta.len() > limit {
        return Err(ReadRefusal::TooLarge(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.into_std()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadRefusal::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadRefusal::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Which file a directory entry is, to tell whether the name still points at the file we
/// created. Device and inode on Unix; elsewhere there is no cheap equivalent, so every
/// file counts as the same (the create-new open is what protects there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    dev: u64,
    #[cfg(unix)]
    ino: u64,
}

impl FileIdentity {
    fn of(meta: &cap_std::fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use cap_std::fs::MetadataExt;
            Self {
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            Self {}
        }
    }
}

/// A new file reserved for a download. Write it once with [`SaveTarget::write_all`] or
/// [`SaveTarget::write_stream`]; if the call fails, is cancelled or the target is dropped
/// unwritten, the file is removed again (only if the name still points at it).
#[derive(Debug)]
pub struct SaveTarget {
    /// The path reported to the agent: the canonical parent and the file name.
    shown: PathBuf,
    /// The directory the file was created in, held open so cleanup and checks happen there
    /// and not wherever the path leads by then.
    dir: Dir,
    name: OsString,
    file: Option<tokio::fs::File>,
    identity: FileIdentity,
    kept: bool,
}

impl SaveTarget {
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Writes `bytes` and keeps the file. Returns the number of bytes written.
    pub async fn write_all(self, bytes: Bytes) -> Result<u64, ToolError> {
        self.write_stream(futures::stream::iter([Ok::<_, UpstreamError>(bytes)]))
            .await
    }

    /// Streams a download to the file chunk by chunk, so no more than a chunk is held in
    /// memory, and keeps it. Returns the number of bytes written. On a broken download the
    /// partial file is removed and the upstream error returned.
    pub async fn write_stream(
        mut self,
        body: impl Stream<Item = Result<Bytes, UpstreamError>>,
    ) -> Result<u64, ToolError> {
        let Some(mut file) = self.file.take() else {
            return Err(ToolError::Internal("save target written twice".into()));
        };
        let mut body = std::pin::pin!(body);
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            file.write_all(&chunk)
                .await
                .map_err(|e| self.write_error(&e))?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(|e| self.write_error(&e))?;
        drop(file);
        if !self.still_ours() {
            return Err(ToolError::LocalFile(format!(
                "{} was replaced by something else while the download was written, so it \
                 was not kept. Save to a path nothing else is changing.",
                self.shown.display()
            )));
        }
        self.kept = true;
        Ok(written)
    }

    fn write_error(&self, e: &std::io::Error) -> ToolError {
        ToolError::LocalFile(format!(
            "Cannot write {}: {e}. Check the free space and try again.",
            self.shown.display()
        ))
    }

    /// Whether the name, looked up in the directory we created it in and without following
    /// symlinks, is still the file we created.
    fn still_ours(&self) -> bool {
        self.dir
            .symlink_metadata(&self.name)
            .is_ok_and(|m| m.is_file() && FileIdentity::of(&m) == self.identity)
    }
}

impl Drop for SaveTarget {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        self.file = None;
        if self.still_ours()
            && let Err(e) = self.dir.remove_file(&self.name)
        {
            tracing::warn!(path = %self.shown.display(), error = %e, "could not remove an unfinished download");
        }
    }
}

/// Decodes base64 content an agent sent, accepting a `data:` URL prefix.
pub fn decode_base64(field: &str, content: &str) -> Result<Bytes, ToolError> {
    use base64::Engine;
    let raw = match content.split_once(";base64,") {
        Some((prefix, data)) if prefix.starts_with("data:") => data,
        _ => content,
    };
    let cleaned: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .map(Bytes::from)
        .map_err(|e| ToolError::InvalidArguments(format!("`{field}` is not valid base64 ({e})")))
}

/// The MIME type for a file name, from its extension.
pub fn mime_for(file_name: &str) -> String {
    if file_name.ends_with(".jsonl") {
        return "application/jsonl".to_string();
    }
    mime_guess::from_path(file_name)
        .first_or_octet_stream()
        .essence_str()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> LocalFiles {
        LocalFiles {
            allowed_dirs: vec![dir.canonicalize().unwrap()],
            max_upload_bytes: 1024,
            max_inline_bytes: 100,
        }
    }

    #[tokio::test]
    async fn reads_inside_and_refuses_outside() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(allowed.path().join("a.pdf"), b"%PDF").unwrap();
        std::fs::write(other.path().join("b.txt"), b"x").unwrap();
        let f = files(allowed.path());
        let loaded = f
            .read(allowed.path().join("a.pdf").to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(loaded.file_name, "a.pdf");
        assert_eq!(loaded.mime, "application/pdf");
        let escape = format!(
            "{}/../{}/b.txt",
            allowed.path().display(),
            other.path().file_name().unwrap().to_str().unwrap()
        );
        assert!(matches!(
            f.read(&escape).await,
            Err(ToolError::NotAllowed(_)) | Err(ToolError::LocalFile(_))
        ));
        assert!(matches!(
            f.read(other.path().join("b.txt").to_str().unwrap()).await,
            Err(ToolError::NotAllowed(_))
        ));
    }

    #[tokio::test]
    async fn symlink_out_of_the_sandbox_is_refused() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(other.path().join("secret"), allowed.path().join("link"))
            .unwrap();
        let f = files(allowed.path());
        assert!(matches!(
            f.read(allowed.path().join("link").to_str().unwrap()).await,
            Err(ToolError::NotAllowed(_))
        ));
    }

    #[test]
    fn reads_resolve_beneath_the_opened_directory() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("secret"), b"x").unwrap();
        std::fs::write(allowed.path().join("big"), vec![0u8; 2000]).unwrap();
        std::os::unix::fs::symlink(other.path(), allowed.path().join("sub")).unwrap();
        let root = allowed.path().canonicalize().unwrap();
        // As if `sub` became a link to the outside between the check and the open.
        assert!(matches!(
            read_beneath(&root, Path::new("sub/secret"), 1024),
            Err(ReadRefusal::Io(_))
        ));
        assert!(matches!(
            read_beneath(&root, Path::new("big"), 1024),
            Err(ReadRefusal::TooLarge(2000))
        ));
        assert!(matches!(
            read_beneath(&root, Path::new(""), 1024),
            Err(ReadRefusal::NotAFile)
        ));
    }

    #[tokio::test]
    async fn no_dirs_means_a_helpful_refusal() {
        let f = LocalFiles {
            allowed_dirs: vec![],
            max_upload_bytes: 1,
            max_inline_bytes: 1,
        };
        let err = f.read("/etc/passwd").await.unwrap_err().to_string();
        assert!(err.contains("--allow-dir"), "{err}");
    }

    #[tokio::test]
    async fn writes_never_overwrite() {
        let allowed = tempfile::tempdir().unwrap();
        std::fs::write(allowed.path().join("exists"), b"x").unwrap();
        let f = files(allowed.path());
        let target = f
            .reserve(allowed.path().join("new.bin").to_str().unwrap())
            .await
            .unwrap();
        assert_eq!(
            target.write_all(Bytes::from_static(b"new")).await.unwrap(),
            3
        );
        assert_eq!(
            std::fs::read(allowed.path().join("new.bin")).unwrap(),
            b"new"
        );
        for taken in ["exists", "new.bin"] {
            let err = f
                .reserve(allowed.path().join(taken).to_str().unwrap())
                .await
                .unwrap_err();
            assert!(err.to_string().contains("already exists"), "{err}");
        }
        assert_eq!(std::fs::read(allowed.path().join("exists")).unwrap(), b"x");
    }

    #[test]
    fn save_paths_that_cannot_name_a_new_file_are_refused() {
        for bad in ["", "  ", "a\0b", "dir/", "dir/.", "dir/..", "/", ".", ".."] {
            let err = split_save_path(bad).unwrap_err();
            assert!(
                matches!(err, ToolError::InvalidArguments(_))
                    && err.to_string().contains("save_to"),
                "{bad:?}: {err}"
            );
        }
        let (parent, name) = split_save_path("out.bin").unwrap();
        assert_eq!(
            (parent, name),
            (PathBuf::from("."), OsString::from("out.bin"))
        );
        let (parent, name) = split_save_path("/a/b/out.bin").unwrap();
        assert_eq!(
            (parent, name),
            (PathBuf::from("/a/b"), OsString::from("out.bin"))
        );
    }

    #[tokio::test]
    async fn a_symlink_at_the_target_is_never_followed() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let outside = other.path().join("victim");
        std::os::unix::fs::symlink(&outside, allowed.path().join("link")).unwrap();
        let f = files(allowed.path());
        let err = f
            .reserve(allowed.path().join("link").to_str().unwrap())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert!(!outside.exists());
    }

    #[tokio::test]
    async fn a_parent_swapped_for_an_outside_symlink_is_not_followed() {
        let allowed = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(other.path(), allowed.path().join("sub")).unwrap();
        let f = files(allowed.path());
        // The canonical parent is outside, so the plain check refuses it.
        let err = f
            .reserve(allowed.path().join("sub/x").to_str().unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, ToolError::NotAllowed(_)), "{err}");
        // Even when the check passed earlier, the open resolves beneath the allowed dir.
        let allowed_canon = allowed.path().canonicalize().unwrap();
        let escaped = create_new_beneath(&allowed_canon, Path::new("sub"), OsStr::new("x"));
        assert!(escaped.is_err());
        assert!(!other.path().join("x").exists());
    }

    #[tokio::test]
    async fn an_unwritten_or_failed_target_is_removed_but_only_if_still_ours() {
        let allowed = tempfile::tempdir().unwrap();
        let f = files(allowed.path());
        let path = allowed.path().join("dropped.bin");
        let target = f.reserve(path.to_str().unwrap()).await.unwrap();
        assert!(path.exists(), "the name is reserved at once");
        drop(target);
        assert!(!path.exists(), "an unused reservation is cleaned up");

        let target = f.reserve(path.to_str().unwrap()).await.unwrap();
        let broken = futures::stream::iter([
            Ok(Bytes::from_static(b"part")),
            Err(UpstreamError::Decode("broke".into())),
        ]);
        assert!(target.write_stream(broken).await.is_err());
        assert!(!path.exists(), "a broken download leaves nothing behind");

        let target = f.reserve(path.to_str().unwrap()).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"someone else's").unwrap();
        let err = target
            .write_all(Bytes::from_static(b"ours"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("replaced"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
    }

    #[test]
    fn base64_with_data_url_prefix() {
        assert_eq!(
            &decode_base64("f", "data:application/pdf;base64,JVBERg==").unwrap()[..],
            b"%PDF"
        );
        assert!(decode_base64("f", "***").is_err());
    }
}
