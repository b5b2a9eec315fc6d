//! The Mistral API areas as operations: hand-written requests where behaviour is special
//! (streams, waits, uploads, downloads, local files), one file per area, and everything else
//! generated from the spec into `generated/`. [`registry`] joins them; `tools.toml` says which
//! is which (`hand_written`), and the catalog checks the two agree.
//!
//! Adding an operation: a `tools.toml` entry and `scripts/generate`; only special behaviour
//! needs a hand-written request here (with `hand_written = true` in its entry).

pub mod agents;
pub mod audio;
pub mod batch;
pub mod chat;
pub mod chat_types;
pub mod classifiers;
pub mod completion;
pub mod conversations;
pub mod embeddings;
pub mod files;
pub mod fim;
pub mod fine_tuning;
pub mod generated;
pub mod libraries;
pub mod ocr;

use crate::tool::OpEntry;

/// Every operation the server knows, in catalog order.
pub fn registry() -> Vec<OpEntry> {
    [
        chat::entries(),
        fim::entries(),
        embeddings::entries(),
        classifiers::entries(),
        ocr::entries(),
        files::entries(),
        agents::entries(),
        conversations::entries(),
        audio::entries(),
        batch::entries(),
        fine_tuning::entries(),
        libraries::entries(),
        generated::entries(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
