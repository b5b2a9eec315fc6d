//! Local files: which paths the server may read for uploads and write for downloads.
//!
//! An agent can name any path, so every path is canonicalised (symlinks resolved) and must
//! fall inside a directory the operator allowed with `--allow-dir` or
//! `MISTRAL_MCP_ALLOWED_DIRS`. With no directory allowed, local paths are refused with a
//! message that says how to allow one; base64 content always works.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::config::FilesConfig;
use crate::ops::ToolError;

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

    fn inside_allowed(&self, canonical: &Path) -> bool {
        self.allowed_dirs
            .iter()
            .any(|dir| canonical.starts_with(dir))
    }

    /// Reads a file an agent asked to upload.
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
        if !self.inside_allowed(&canonical) {
            return Err(self.not_allowed(&requested));
        }
        let meta = tokio::fs::metadata(&canonical).await.map_err(|e| {
            ToolError::LocalFile(format!("Cannot read {}: {e}", requested.display()))
        })?;
        if !meta.is_file() {
            return Err(ToolError::LocalFile(format!(
                "{} is not a regular file",
                requested.display()
            )));
        }
        if meta.len() > self.max_upload_bytes {
            return Err(ToolError::LocalFile(format!(
                "{} is {} bytes, over the upload limit of {} bytes",
                requested.display(),
                meta.len(),
                self.max_upload_bytes
            )));
        }
        let bytes = tokio::fs::read(&canonical).await.map_err(|e| {
            ToolError::LocalFile(format!("Cannot read {}: {e}", requested.display()))
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

    /// Checks where a download may be written and returns the path to write. The parent
    /// directory must exist inside an allowed directory; an existing file is not overwritten.
    pub async fn writable(&self, path: &str) -> Result<PathBuf, ToolError> {
        let requested = PathBuf::from(path);
        if self.allowed_dirs.is_empty() {
            return Err(self.not_allowed(&requested));
        }
        let (Some(parent), Some(name)) = (requested.parent(), requested.file_name()) else {
            return Err(ToolError::LocalFile(format!(
                "{} is not a file path",
                requested.display()
            )));
        };
        let parent = if parent.as_os_str().is_empty() {
            Path::new(".")
        } else {
            parent
        };
        let parent = tokio::fs::canonicalize(parent).await.map_err(|e| {
            ToolError::LocalFile(format!(
                "Directory {} does not exist: {e}",
                parent.display()
            ))
        })?;
        let target = parent.join(name);
        if !self.inside_allowed(&target) {
            return Err(self.not_allowed(&requested));
        }
        if tokio::fs::symlink_metadata(&target).await.is_ok() {
            return Err(ToolError::LocalFile(format!(
                "{} already exists; choose another path (files are never overwritten)",
                target.display()
            )));
        }
        Ok(target)
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
        assert!(
            f.writable(allowed.path().join("new.bin").to_str().unwrap())
                .await
                .is_ok()
        );
        assert!(
            f.writable(allowed.path().join("exists").to_str().unwrap())
                .await
                .is_err()
        );
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
